import { hash32, permute, unpermute } from "./hash.js";

/**
 * Id formats of the simulated organisation. Every id is 128 bits: three hash words of
 * (seed, kind, index) and a keyed permutation of the index, so ids look random, are
 * deterministic for a seed, and decode back to their index without any table:
 * - user `29:1<22 base64url chars>`; Entra object id: a version-4 GUID;
 * - 1:1 conversation `a:1<22 base64url chars>` (one per user, the same on every create);
 * - team and its General channel `19:<32 hex>@thread.tacv2`; other channels the same form;
 * - group chat `19:<32 hex>@thread.v2`; tenant and team (Entra group) ids: GUIDs;
 * - channel thread (a post and its replies) `<channel id>;messageid=<activity id>`.
 */
export const Kind = {
  user: 1,
  aad: 2,
  personal: 3,
  team: 4,
  channel: 5,
  chat: 6,
  tenant: 7,
  group: 8,
  app: 9,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Channels per team are encoded as `team * CHANNEL_STRIDE + channel`. */
export const CHANNEL_STRIDE = 1024;

type Words = [number, number, number, number];

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** Value of each base64 character (both the base64url and the standard alphabet); -1 = not one. */
const B64 = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".charCodeAt(i)] = i;
B64["+".charCodeAt(0)] = 62;
B64["/".charCodeAt(0)] = 63;

function isHex(text: string): boolean {
  return /^[0-9a-f]+$/i.test(text);
}

export class IdCodec {
  constructor(readonly seed: number) {}

  private words(kind: number, index: number, guid: boolean): Words {
    let w1 = hash32(this.seed, kind, index, 2);
    let w2 = hash32(this.seed, kind, index, 3);
    if (guid) {
      // RFC 4122 version 4 and variant bits, so strict UUID validators accept the ids.
      w1 = ((w1 & 0xffff0fff) | 0x4000) >>> 0;
      w2 = ((w2 & 0x3fffffff) | 0x80000000) >>> 0;
    }
    return [hash32(this.seed, kind, index, 1), w1, w2, permute(this.seed, kind, index)];
  }

  private check(kind: number, words: Words, guid: boolean): number {
    return this.checkWords(kind, words[0], words[1], words[2], words[3], guid);
  }

  private checkWords(kind: number, w0: number, w1: number, w2: number, w3: number, guid: boolean): number {
    const index = unpermute(this.seed, kind, w3);
    const expected = this.words(kind, index, guid);
    return expected[0] === w0 && expected[1] === w1 && expected[2] === w2 ? index : -1;
  }

  /** A version-4 GUID for (kind, index). */
  guid(kind: number, index: number): string {
    const [a, b, c, d] = this.words(kind, index, true);
    const h = hex8(a) + hex8(b) + hex8(c) + hex8(d);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** Index of a GUID made by `guid(kind, ...)`, or -1. Case-insensitive. */
  decodeGuid(kind: number, text: string): number {
    if (text.length !== 36) return -1;
    const h = text.slice(0, 8) + text.slice(9, 13) + text.slice(14, 18) + text.slice(19, 23) + text.slice(24);
    if (h.length !== 32 || !isHex(h)) return -1;
    return this.check(kind, this.parseHex(h), true);
  }

  private parseHex(h: string): Words {
    return [
      Number.parseInt(h.slice(0, 8), 16),
      Number.parseInt(h.slice(8, 16), 16),
      Number.parseInt(h.slice(16, 24), 16),
      Number.parseInt(h.slice(24, 32), 16),
    ];
  }

  private b64(kind: number, index: number): string {
    const buf = Buffer.allocUnsafe(16);
    const w = this.words(kind, index, false);
    buf.writeUInt32BE(w[0], 0);
    buf.writeUInt32BE(w[1], 4);
    buf.writeUInt32BE(w[2], 8);
    buf.writeUInt32BE(w[3], 12);
    return buf.toString("base64url");
  }

  /**
   * Index of a 22-character base64url id of `kind`, or -1. Decoded in place (this runs for
   * every send to a 1:1 chat): the same answers as `Buffer.from(text, "base64url")`, which
   * takes either alphabet (`-_` or `+/`), ignores the unused low 4 bits of the last character
   * and yields fewer than 16 bytes when any character is outside the alphabet.
   */
  private decodeB64(kind: number, text: string): number {
    if (text.length !== 22) return -1;
    let w0 = 0;
    let w1 = 0;
    let w2 = 0;
    let w3 = 0;
    // 21 full sextets (126 bits) and the top 2 bits of the 22nd give the 128 bits.
    for (let i = 0; i < 22; i++) {
      const c = text.charCodeAt(i);
      const v = c < 128 ? B64[c]! : -1;
      if (v < 0) return -1;
      // Shift the 128-bit value (w0..w3) left by 6 and add v, or by 2 and add v >> 4 at the end.
      const bits = i < 21 ? 6 : 2;
      const add = i < 21 ? v : v >>> 4;
      w0 = ((w0 << bits) | (w1 >>> (32 - bits))) >>> 0;
      w1 = ((w1 << bits) | (w2 >>> (32 - bits))) >>> 0;
      w2 = ((w2 << bits) | (w3 >>> (32 - bits))) >>> 0;
      w3 = ((w3 << bits) | add) >>> 0;
    }
    return this.checkWords(kind, w0, w1, w2, w3, false);
  }

  /** Teams user id `29:1...` of user `index`. */
  userId(index: number): string {
    return `29:1${this.b64(Kind.user, index)}`;
  }

  /** Index of a `29:` id made by `userId`, or -1. */
  decodeUserId(id: string): number {
    return id.startsWith("29:1") ? this.decodeB64(Kind.user, id.slice(4)) : -1;
  }

  /** The 1:1 conversation id (`a:1...`) between the bot and user `index`. */
  personalId(index: number): string {
    return `a:1${this.b64(Kind.personal, index)}`;
  }

  /** User index of a 1:1 conversation id, or -1. */
  decodePersonalId(id: string): number {
    return id.startsWith("a:1") ? this.decodeB64(Kind.personal, id.slice(3)) : -1;
  }

  private thread(kind: number, index: number, suffix: string): string {
    const [a, b, c, d] = this.words(kind, index, false);
    return `19:${hex8(a)}${hex8(b)}${hex8(c)}${hex8(d)}${suffix}`;
  }

  /** Team id (also the id of its General channel). */
  teamId(team: number): string {
    return this.thread(Kind.team, team, "@thread.tacv2");
  }

  /** Id of channel `channel` (>= 1) of a team; channel 0 is General, whose id is the team id. */
  channelId(team: number, channel: number): string {
    return channel === 0 ? this.teamId(team) : this.thread(Kind.channel, team * CHANNEL_STRIDE + channel, "@thread.tacv2");
  }

  /** Group chat id. */
  chatId(chat: number): string {
    return this.thread(Kind.chat, chat, "@thread.v2");
  }

  /**
   * What a `19:` id names: a team (General channel), another channel, or a group chat.
   * Returns undefined for anything not made by this codec.
   */
  decodeThread(
    id: string,
  ): { kind: "team"; team: number } | { kind: "channel"; team: number; channel: number } | { kind: "chat"; chat: number } | undefined {
    if (!id.startsWith("19:") || id.length < 3 + 32) return undefined;
    const h = id.slice(3, 35);
    if (!isHex(h)) return undefined;
    const rest = id.slice(35);
    const words = this.parseHex(h.toLowerCase());
    if (rest === "@thread.tacv2") {
      const team = this.check(Kind.team, words, false);
      if (team >= 0) return { kind: "team", team };
      const ch = this.check(Kind.channel, words, false);
      if (ch >= 0) return { kind: "channel", team: Math.floor(ch / CHANNEL_STRIDE), channel: ch % CHANNEL_STRIDE };
      return undefined;
    }
    if (rest === "@thread.v2") {
      const chat = this.check(Kind.chat, words, false);
      return chat >= 0 ? { kind: "chat", chat } : undefined;
    }
    return undefined;
  }
}

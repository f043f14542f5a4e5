import type { ActivityResource, ConversationResource, MembersPage, TeamChannel, TeamDetails, TeamsChannelAccount } from "./client.js";

/**
 * Narrow the JSON of successful Connector answers into the port's types. Pure; undefined means
 * the answer lacks what the operation must return (the client turns that into an
 * `invalid-response` ConnectorError). JSON `null` fields become absent.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : undefined);

/** `{id}` of send, reply and update; a missing id is legal (Teams returns none for split messages). */
export function readActivityResource(json: unknown): ActivityResource {
  return { id: isObj(json) ? str(json.id) : undefined };
}

/** `{id, activityId?, serviceUrl?}` of create conversation; the id is required. */
export function readConversationResource(json: unknown): ConversationResource | undefined {
  if (!isObj(json)) return undefined;
  const id = str(json.id);
  if (id === undefined) return undefined;
  const out: ConversationResource = { id };
  const activityId = str(json.activityId);
  if (activityId !== undefined) out.activityId = activityId;
  const serviceUrl = str(json.serviceUrl);
  if (serviceUrl !== undefined) out.serviceUrl = serviceUrl;
  return out;
}

/** One member; it must have an id. */
export function readMember(json: unknown): TeamsChannelAccount | undefined {
  if (!isObj(json)) return undefined;
  const id = str(json.id);
  if (id === undefined) return undefined;
  const out: TeamsChannelAccount = { id };
  for (const key of Object.keys(json)) {
    const v = json[key];
    if (key !== "id" && v !== null && v !== undefined) out[key] = v;
  }
  return out;
}

/** `{members, continuationToken}`; `members` absent or null reads as an empty page. */
export function readMembersPage(json: unknown): MembersPage | undefined {
  if (!isObj(json)) return undefined;
  const raw = json.members ?? [];
  if (!Array.isArray(raw)) return undefined;
  const members: TeamsChannelAccount[] = [];
  for (const m of raw) {
    const member = readMember(m);
    if (!member) return undefined;
    members.push(member);
  }
  return { members, continuationToken: str(json.continuationToken) };
}

/** `{id, name, aadGroupId, ...}`. */
export function readTeamDetails(json: unknown): TeamDetails | undefined {
  const member = readMember(json);
  return member ? (member as TeamDetails) : undefined;
}

/** `{conversations:[{id, name}]}`; General's `name` is null and reads as undefined. */
export function readTeamChannels(json: unknown): TeamChannel[] | undefined {
  if (!isObj(json) || !Array.isArray(json.conversations)) return undefined;
  const out: TeamChannel[] = [];
  for (const c of json.conversations) {
    if (!isObj(c)) return undefined;
    const id = str(c.id);
    if (id === undefined) return undefined;
    out.push({ id, name: typeof c.name === "string" ? c.name : undefined });
  }
  return out;
}

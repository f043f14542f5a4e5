import type { EmulatorHandle, OrgChannel, OrgTeam, OrgTenant, OrgUser } from "../../src/emulator/index.js";
import { control, start } from "../emulator/helpers.js";

/**
 * An emulator with auth ON and Teams' limits on, that knows exactly one client (the bot's app
 * id and secret), as a real bot registration would be: what Microsoft's SDKs run against.
 */
export interface SdkEnv {
  emu: EmulatorHandle;
  appId: string;
  secret: string;
  /** Token endpoint of the `botframework.com` tenant, as SDKs build it: `<login>/<tenant>/oauth2/v2.0/token`. */
  tokenUrl: string;
  tenant: OrgTenant;
  user: OrgUser;
  /** The tenant-wide team (300 members: several pages of 50..500). */
  team: OrgTeam;
  channel: OrgChannel;
}

export async function startSdkEnv(appId: string): Promise<SdkEnv> {
  const secret = `secret-of-${appId.slice(0, 8)}`;
  const emu = await start({ appId, clients: [{ id: appId, secret }], org: { users: 300, teams: 2, chats: 1 } });
  const tenant = emu.org.tenants[0]!;
  const team = emu.org.teams[0]!;
  return {
    emu,
    appId,
    secret,
    tokenUrl: `${emu.url}/botframework.com/oauth2/v2.0/token`,
    tenant,
    user: emu.org.user(tenant.userStart + 5),
    team,
    channel: team.channels[1]!,
  };
}

/** A client-credentials token, asked exactly as Entra ID is asked (form body). */
export async function clientCredentialsToken(
  tokenUrl: string,
  clientId: string,
  secret: string,
  scope: string,
): Promise<{ accessToken: string; expiresIn: number }> {
  const res = await fetch(tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: secret, scope }),
  });
  const body = (await res.json()) as { access_token?: string; expires_in?: number; error_description?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`token endpoint: ${res.status} ${body.error_description ?? ""}`);
  return { accessToken: body.access_token, expiresIn: body.expires_in ?? 3599 };
}

/** What the emulator kept for a conversation (messages with history), from its control API. */
// biome-ignore lint/suspicious/noExplicitAny: inspection bodies are read loosely in tests
export async function kept(emu: EmulatorHandle, conversationId: string): Promise<any[]> {
  const res = await control(emu).get(`/conversations/${encodeURIComponent(conversationId)}/messages`);
  return res.json.messages;
}

/** Every member id of a team, from the organisation (what paging must return). */
export function teamMemberIds(emu: EmulatorHandle, team: OrgTeam): string[] {
  return Array.from({ length: team.memberCount }, (_, k) => emu.org.user(emu.org.teamMember(team.index, k)).id);
}

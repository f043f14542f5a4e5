import type { GraphClient } from "./client.js";
import { GraphError } from "./errors.js";

/** A directory user as Herald needs it. */
export interface GraphUser {
  /** Entra object id. */
  id: string;
  userPrincipalName?: string | undefined;
  displayName?: string | undefined;
  mail?: string | undefined;
}

/** What an install request ended with. */
export type InstallAnswer = "installed" | "alreadyInstalled";

const USER_SELECT = "id,displayName,userPrincipalName,mail";

const quote = (s: string): string => s.replace(/'/g, "''");
const seg = (s: string): string => encodeURIComponent(s);

function userOf(v: Record<string, unknown>): GraphUser | undefined {
  const id = v["id"];
  if (typeof id !== "string" || id === "") return undefined;
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  return { id, userPrincipalName: str("userPrincipalName"), displayName: str("displayName"), mail: str("mail") };
}

/**
 * The Graph operations proactive installation needs (protocol reference, section 7), on top of
 * GraphClient. The catalog id is HERALD_TEAMS_APP_ID when set, else looked up once per tenant by
 * `externalId` = the bot's app id (the manifest id of a package made by `herald app-package`).
 */
export class TeamsAppGraph {
  private readonly catalog = new Map<string, Promise<string | undefined>>();

  constructor(
    readonly graph: GraphClient,
    private readonly app: { appId: string | undefined; teamsAppId: string | undefined; pageSize?: number | undefined },
  ) {}

  /** `$top` of user listings: Graph's largest (999) unless set (tests use small pages). */
  private get top(): number {
    return this.app.pageSize ?? 999;
  }

  /** The app's catalog id in `tenantId`, or undefined when the catalog has no app with the bot's id. */
  catalogId(tenantId: string, signal?: AbortSignal): Promise<string | undefined> {
    if (this.app.teamsAppId) return Promise.resolve(this.app.teamsAppId);
    const key = tenantId.toLowerCase();
    let p = this.catalog.get(key);
    if (!p) {
      const externalId = this.app.appId ?? "";
      p = this.graph
        .get(tenantId, `/appCatalogs/teamsApps?$filter=${encodeURIComponent(`externalId eq '${quote(externalId)}'`)}`, signal)
        .then((page) => {
          const value = Array.isArray(page["value"]) ? (page["value"] as Record<string, unknown>[]) : [];
          const id = value[0]?.["id"];
          return typeof id === "string" ? id : undefined;
        });
      // A failure (or an app not yet uploaded) is not remembered: the next call asks again.
      p.then(
        (id) => id === undefined && this.catalog.delete(key),
        () => this.catalog.delete(key),
      );
      this.catalog.set(key, p);
    }
    return p;
  }

  /** `POST /users/{id}/teamwork/installedApps`: 201 installed, 409 already installed; else GraphError. */
  async installForUser(tenantId: string, userId: string, catalogId: string, signal?: AbortSignal): Promise<InstallAnswer> {
    const { status } = await this.graph.request(tenantId, "POST", `/users/${seg(userId)}/teamwork/installedApps`, {
      body: { "teamsApp@odata.bind": this.graph.url(`/appCatalogs/teamsApps/${seg(catalogId)}`) },
      accept: [409],
      throttleRetries: 0,
      signal,
    });
    return status === 409 ? "alreadyInstalled" : "installed";
  }

  /**
   * `POST /teams/{groupId}/installedApps` or `POST /chats/{chatId}/installedApps`: 201 installed,
   * 409 already installed; else GraphError. Teams then sends the bot the team's (or chat's)
   * conversationUpdate, which stores its conversation.
   */
  async installIn(tenantId: string, scope: "team" | "chat", id: string, catalogId: string, signal?: AbortSignal): Promise<InstallAnswer> {
    const { status } = await this.graph.request(tenantId, "POST", `/${scope === "team" ? "teams" : "chats"}/${seg(id)}/installedApps`, {
      body: { "teamsApp@odata.bind": this.graph.url(`/appCatalogs/teamsApps/${seg(catalogId)}`) },
      accept: [409],
      throttleRetries: 0,
      signal,
    });
    return status === 409 ? "alreadyInstalled" : "installed";
  }

  /**
   * `GET /teams/{groupId}`: the team's Teams id (`internalId`, `19:…@thread.tacv2`, the Connector's
   * id of the team and of its General channel); undefined when Graph gives none. 404: GraphError.
   */
  async teamInternalId(tenantId: string, groupId: string, signal?: AbortSignal): Promise<string | undefined> {
    const team = await this.graph.get(tenantId, `/teams/${seg(groupId)}?$select=id,displayName,internalId`, signal);
    const id = team["internalId"];
    return typeof id === "string" && id.startsWith("19:") ? id : undefined;
  }

  /**
   * The 1:1 chat between the user and the bot (`a:...`, the Connector's conversation id): the
   * user's installation of the app, then its `/chat`. Undefined when the app is not installed.
   */
  async personalChatId(tenantId: string, userId: string, catalogId: string, signal?: AbortSignal): Promise<string | undefined> {
    const base = `/users/${seg(userId)}/teamwork/installedApps`;
    const list = await this.graph.get(
      tenantId,
      `${base}?$expand=teamsApp&$filter=${encodeURIComponent(`teamsApp/id eq '${quote(catalogId)}'`)}`,
      signal,
    );
    const value = Array.isArray(list["value"]) ? (list["value"] as Record<string, unknown>[]) : [];
    const installation = value[0]?.["id"];
    if (typeof installation !== "string") return undefined;
    const chat = await this.graph.get(tenantId, `${base}/${seg(installation)}/chat`, signal);
    return typeof chat["id"] === "string" ? chat["id"] : undefined;
  }

  /** A user by Entra object id, UPN or email (UPN first; an email that is no UPN through `mail`); undefined when unknown. */
  async findUser(tenantId: string, idOrUpn: string, signal?: AbortSignal): Promise<GraphUser | undefined> {
    try {
      const json = await this.graph.get(tenantId, `/users/${seg(idOrUpn)}?$select=${USER_SELECT}`, signal);
      return userOf(json);
    } catch (e) {
      if (!(e instanceof GraphError) || e.status !== 404 || !idOrUpn.includes("@")) {
        if (e instanceof GraphError && e.status === 404) return undefined;
        throw e;
      }
    }
    const page = await this.graph.get(
      tenantId,
      `/users?$select=${USER_SELECT}&$filter=${encodeURIComponent(`mail eq '${quote(idOrUpn)}'`)}`,
      signal,
    );
    const value = Array.isArray(page["value"]) ? (page["value"] as Record<string, unknown>[]) : [];
    return value[0] ? userOf(value[0]) : undefined;
  }

  /** One page of a collection: its users and the `@odata.nextLink` to resume from (absent on the last). */
  async userPage(tenantId: string, pathOrNext: string, signal?: AbortSignal): Promise<{ users: GraphUser[]; next?: string | undefined }> {
    const page = await this.graph.get(tenantId, pathOrNext, signal);
    const value = Array.isArray(page["value"]) ? (page["value"] as unknown[]) : [];
    const users = value
      .filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null)
      .map(userOf)
      .filter((u) => u !== undefined);
    const link = page["@odata.nextLink"];
    return { users, next: typeof link === "string" && link !== "" ? link : undefined };
  }

  /** The first page's path of a group's transitive members that are users. */
  groupMembersPath(groupId: string): string {
    return `/groups/${seg(groupId)}/transitiveMembers/microsoft.graph.user?$select=${USER_SELECT}&$top=${this.top}`;
  }

  /** The first page's path of the tenant's directory. */
  usersPath(): string {
    return `/users?$select=${USER_SELECT}&$top=${this.top}`;
  }

  /** A group's transitive members that are users, page by page (`@odata.nextLink`). */
  async *groupMembers(tenantId: string, groupId: string, signal?: AbortSignal): AsyncGenerator<GraphUser[]> {
    const path = this.groupMembersPath(groupId);
    for await (const page of this.graph.pages(tenantId, path, signal)) yield page.map(userOf).filter((u) => u !== undefined);
  }

  /** Every user of the tenant's directory, page by page. */
  async *allUsers(tenantId: string, signal?: AbortSignal): AsyncGenerator<GraphUser[]> {
    for await (const page of this.graph.pages(tenantId, this.usersPath(), signal)) yield page.map(userOf).filter((u) => u !== undefined);
  }
}

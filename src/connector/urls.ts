/**
 * Where Connector requests go (protocol reference, section 1). A serviceUrl can carry a path
 * prefix (`http://localhost:56150/_connector`, `https://smba.trafficmanager.net/teams/`): the API
 * path is appended to it, never put in its place. Ids contain `:`, `;` and `@`, so every id is
 * one encodeURIComponent'd path segment.
 */

/** A serviceUrl split once into what undici's dispatcher takes. */
export interface ServiceBase {
  /** `https://smba.trafficmanager.net` */
  origin: string;
  /** The serviceUrl's path without trailing slashes: `/teams`, `/_connector`, or `` for `/`. */
  prefix: string;
}

/** Split a serviceUrl; undefined when it is not an absolute http(s) URL. Query and fragment are dropped. */
export function parseServiceUrl(serviceUrl: string): ServiceBase | undefined {
  let u: URL;
  try {
    u = new URL(serviceUrl);
  } catch {
    return undefined;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return undefined;
  return { origin: u.origin, prefix: u.pathname.replace(/\/+$/, "") };
}

const seg = encodeURIComponent;

/** `POST` create conversation. */
export const conversationsPath = (): string => "/v3/conversations";

/** `POST` send to conversation. */
export const activitiesPath = (conversationId: string): string => `/v3/conversations/${seg(conversationId)}/activities`;

/** `POST` reply, `PUT` update, `DELETE` delete. */
export const activityPath = (conversationId: string, activityId: string): string =>
  `/v3/conversations/${seg(conversationId)}/activities/${seg(activityId)}`;

/** `GET` one page of members; lowercase `pagedmembers` as documented (Teams accepts both cases). */
export function pagedMembersPath(conversationId: string, pageSize?: number, continuationToken?: string): string {
  let path = `/v3/conversations/${seg(conversationId)}/pagedmembers`;
  let sep = "?";
  if (pageSize !== undefined) {
    path += `${sep}pageSize=${pageSize}`;
    sep = "&";
  }
  if (continuationToken !== undefined && continuationToken !== "") path += `${sep}continuationToken=${seg(continuationToken)}`;
  return path;
}

/** `GET` one member. */
export const memberPath = (conversationId: string, memberId: string): string =>
  `/v3/conversations/${seg(conversationId)}/members/${seg(memberId)}`;

/** `GET` team details. */
export const teamPath = (teamId: string): string => `/v3/teams/${seg(teamId)}`;

/** `GET` the team's channels. */
export const teamChannelsPath = (teamId: string): string => `/v3/teams/${seg(teamId)}/conversations`;

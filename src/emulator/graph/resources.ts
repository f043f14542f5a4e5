import type { OrgUser } from "../org/model.js";
import { appDefinitionId } from "./ids.js";

/** The one app in the emulator's catalog: the bot's Teams app. */
export interface GraphApp {
  /** Catalog id (`teamsApp/id`), what `teamsApp@odata.bind` names. */
  catalogId: string;
  /** Manifest id (`externalId`). */
  manifestId: string;
  displayName: string;
  version: string;
  /** The bot's Microsoft app id. */
  botId: string;
}

/** `teamsApp` as Graph returns it. */
export function teamsAppJson(app: GraphApp): Record<string, unknown> {
  return { id: app.catalogId, externalId: app.manifestId, displayName: app.displayName, distributionMethod: "organization" };
}

/** `teamsAppDefinition` as Graph returns it; `bot` only when expanded. */
export function appDefinitionJson(app: GraphApp, withBot: boolean): Record<string, unknown> {
  const json: Record<string, unknown> = {
    id: appDefinitionId(app.catalogId, app.version),
    teamsAppId: app.catalogId,
    displayName: app.displayName,
    version: app.version,
    publishingState: "published",
    shortDescription: `${app.displayName} (Herald emulator)`,
    description: `${app.displayName}, served by the Herald Teams emulator.`,
    lastModifiedDateTime: null,
    createdBy: null,
    authorization: { requiredPermissionSet: { resourceSpecificPermissions: [] } },
  };
  if (withBot) json["bot"] = { id: app.botId };
  return json;
}

/** Filterable fields of the catalog app (lower-cased paths). */
export function appFields(app: GraphApp, prefix: string): Map<string, string> {
  return new Map([
    [`${prefix}id`, app.catalogId],
    [`${prefix}externalid`, app.manifestId],
    [`${prefix}displayname`, app.displayName],
    [`${prefix}distributionmethod`, "organization"],
  ]);
}

/** A user as `GET /users/{id}` and member listings return it. */
export function graphUserJson(u: OrgUser, typed: boolean): Record<string, unknown> {
  const json: Record<string, unknown> = typed ? { "@odata.type": "#microsoft.graph.user" } : {};
  return Object.assign(json, {
    id: u.aadObjectId,
    businessPhones: [],
    displayName: u.name,
    givenName: u.givenName,
    jobTitle: null,
    mail: u.email,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: u.locale,
    surname: u.surname,
    userPrincipalName: u.userPrincipalName,
  });
}

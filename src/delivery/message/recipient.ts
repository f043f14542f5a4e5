/**
 * Who a message is rendered for, and the `$root` its `${...}` expressions see:
 * `{...data, ...recipient fields}`. Every recipient field is always present (empty string when
 * unknown) so that `${givenName}` never reaches a recipient as the raw text "${givenName}", and
 * so that `data` may not reuse their names (prepareMessage refuses such keys).
 */
export interface Recipient {
  /** Teams user id (`29:...`) or, for a channel, the conversation id. */
  readonly id?: string | undefined;
  /** Entra object id. */
  readonly aadObjectId?: string | undefined;
  /** Display name as Teams knows it. */
  readonly name?: string | undefined;
  /** First name; when unknown, derived from `name` (its first word, or the word after a comma: "Doe, Jane" → "Jane"). */
  readonly givenName?: string | undefined;
  readonly surname?: string | undefined;
  readonly email?: string | undefined;
  readonly userPrincipalName?: string | undefined;
  /** BCP 47, e.g. `fr-FR`. */
  readonly locale?: string | undefined;
  /** IANA time zone, e.g. `Europe/Paris`. */
  readonly timezone?: string | undefined;
  readonly tenantId?: string | undefined;
}

/** The names every template can use besides the keys of `data`. */
export const recipientFields = [
  "id",
  "aadObjectId",
  "name",
  "givenName",
  "surname",
  "email",
  "userPrincipalName",
  "locale",
  "timezone",
  "tenantId",
] as const satisfies readonly (keyof Recipient)[];

/** The recipient as template fields: all of `recipientFields`, "" when unknown. */
export function recipientValues(r: Recipient): Record<(typeof recipientFields)[number], string> {
  return {
    id: r.id ?? "",
    aadObjectId: r.aadObjectId ?? "",
    name: r.name ?? "",
    givenName: r.givenName || givenNameOf(r.name),
    surname: r.surname ?? "",
    email: r.email ?? "",
    userPrincipalName: r.userPrincipalName ?? "",
    locale: r.locale ?? "",
    timezone: r.timezone ?? "",
    tenantId: r.tenantId ?? "",
  };
}

function givenNameOf(name: string | undefined): string {
  if (!name) return "";
  const comma = name.indexOf(",");
  const rest = (comma >= 0 ? name.slice(comma + 1) : name).trim();
  return rest.split(/\s+/)[0] ?? "";
}

/** The recipient prepareMessage expands every template with once, to find errors before sending. */
export const sampleRecipient: Recipient = Object.freeze({
  id: "29:sample-recipient",
  aadObjectId: "00000000-0000-0000-0000-000000000000",
  name: "Sample Recipient",
  givenName: "Sample",
  surname: "Recipient",
  email: "sample.recipient@example.com",
  userPrincipalName: "sample.recipient@example.com",
  locale: "en-US",
  timezone: "UTC",
  tenantId: "00000000-0000-0000-0000-000000000000",
});

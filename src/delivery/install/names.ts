import { remember } from "./welcomes.js";

/**
 * Names of people Herald is installing the app for, from its own directory (the audience's
 * expansion read them from Graph), keyed by tenant and Entra object id. Teams' install event for
 * a personal scope carries no name; without this the welcome's `${name}` would cost a member
 * read, a request that takes a slot of the tenant's 50 per second, as the welcome and the
 * message do (protocol reference, section 6): a third of the tenant's budget during a
 * proactive install. In-process and bounded: another process's install falls back to the read.
 */
export class DirectoryNames {
  private readonly names = new Map<string, string>();

  constructor(private readonly cap = 10_000) {}

  remember(tenantId: string, aadObjectId: string, name: string): void {
    remember(this.names, keyOf(tenantId, aadObjectId), name, this.cap);
  }

  nameOf(tenantId: string, aadObjectId: string): string | undefined {
    return this.names.get(keyOf(tenantId, aadObjectId));
  }
}

const keyOf = (tenantId: string, aadObjectId: string): string => `${tenantId}|${aadObjectId}`.toLowerCase();

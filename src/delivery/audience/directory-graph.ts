/**
 * What audience expansion needs from Microsoft Graph (implemented by src/graph's TeamsAppGraph):
 * UPN/email resolution and resumable pages of users (a group's transitive members, the
 * tenant's directory). A page's `next` is Graph's `@odata.nextLink`, stored as the expansion's
 * cursor so a crash resumes at the page it was on.
 */
export interface DirectoryGraph {
  findUser(tenantId: string, idOrUpn: string, signal?: AbortSignal): Promise<{ id: string } | undefined>;
  userPage(tenantId: string, pathOrNext: string, signal?: AbortSignal): Promise<{ users: { id: string }[]; next?: string | undefined }>;
  groupMembersPath(groupId: string): string;
  usersPath(): string;
}

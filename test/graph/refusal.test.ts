import { expect, it } from "vitest";
import { installCodes, judgeInstall } from "../../src/delivery/install/refusal.js";
import { GraphError } from "../../src/graph/errors.js";

const refused = (status: number, graphCode: string, serverMessage: string) =>
  judgeInstall(
    new GraphError({
      heraldCode: "HERALD_E_GRAPH_HTTP",
      operation: "POST /users/u/teamwork/installedApps",
      status,
      graphCode,
      serverMessage,
    }),
    "u@x",
  );

it("Herald's own missing Graph permission is not the tenant's app policy: the admin must grant the permission, not change a policy", () => {
  // Graph's answer when the app registration lacks TeamsAppInstallation.ReadWriteSelfForUser.All (or its consent).
  const role = refused(
    403,
    "Forbidden",
    "Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadWriteSelfForUser.All, TeamsAppInstallation.ReadWriteForUser.All'. Roles on the request ''.",
  );
  expect(role).toMatchObject({ kind: "refused", status: "failed", error: { code: installCodes.graphPermission } });
  expect(role.kind === "refused" && role.error.message).toMatch(/TeamsAppInstallation\.ReadWriteSelfForUser\.All/);
  const denied = refused(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
  expect(denied).toMatchObject({ error: { code: installCodes.graphPermission } });
  // The tenant's app permission policy and a missing licence keep their own codes.
  expect(
    refused(
      403,
      "Forbidden",
      "App installation is blocked by the tenant's app permission policy (the admin does not allow this app for the user).",
    ),
  ).toMatchObject({ error: { code: installCodes.appPolicy } });
  expect(
    refused(403, "Forbidden", "The user does not have a valid Microsoft Teams license; apps cannot be installed for them."),
  ).toMatchObject({
    error: { code: installCodes.noLicense },
  });
});

it("a permission refusal names the install permission of the scope: team and group chat installs are not user installs", () => {
  const e = new GraphError({
    heraldCode: "HERALD_E_GRAPH_HTTP",
    operation: "POST /teams/{id}/installedApps",
    status: 403,
    graphCode: "Forbidden",
    serverMessage: "Missing role permissions on the request. Roles on the request ''.",
  });
  const team = judgeInstall(e, "0b2c7a4e-1111-4222-8333-944455556666", "team");
  expect(team).toMatchObject({ error: { code: installCodes.graphPermission } });
  expect(team.kind === "refused" && team.error.message).toMatch(/TeamsAppInstallation\.ReadWriteSelfForTeam\.All/);
  expect(team.kind === "refused" && team.error.message).not.toMatch(/ForUser/);
  const chat = judgeInstall(e, "19:c@thread.v2", "chat");
  expect(chat.kind === "refused" && chat.error.message).toMatch(/TeamsAppInstallation\.ReadWriteSelfForChat\.All/);
  expect(chat.kind === "refused" && chat.error.message).not.toMatch(/ForUser/);
});

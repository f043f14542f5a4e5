import type { Cloud } from "./clouds.js";

/**
 * Which hosts may receive Connector traffic and tokens (protocol reference, section 5): the
 * configured cloud's Connector hosts plus hosts the operator added (HERALD_TRUSTED_HOSTS).
 * A pattern `*.example.com` matches any subdomain of example.com, not example.com itself.
 */
export type TrustedHosts = (serviceUrl: string) => boolean;

/**
 * The trust check of a cloud plus the operator's extra hosts. Plain `http:` is accepted only for
 * the extra hosts (local emulators); the cloud's own hosts must use https.
 */
export function trustedHosts(cloud: Cloud, extra: readonly string[]): TrustedHosts {
  const patterns = [...cloud.trustedHosts, ...extra].map((h) => h.toLowerCase().replace(/^\[|\]$/g, ""));
  return (serviceUrl) => {
    let host: string;
    try {
      const u = new URL(serviceUrl);
      if (u.protocol !== "https:" && u.protocol !== "http:") return false;
      // Plain http is only acceptable for hosts the operator listed (local emulators).
      host = u.hostname.toLowerCase().replace(/^\[|\]$/g, "");
      if (u.protocol === "http:" && !extra.some((h) => matches(h.toLowerCase().replace(/^\[|\]$/g, ""), host))) return false;
    } catch {
      return false;
    }
    return patterns.some((p) => matches(p, host));
  };
}

function matches(pattern: string, host: string): boolean {
  if (pattern.startsWith("*.")) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}

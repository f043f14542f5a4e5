/** Word lists the generated organisation draws names, places and languages from. */

export const givenNames = [
  "Ada", "Alan", "Alex", "Amara", "Amir", "Ana", "Anders", "Anika", "Arjun", "Aya", "Ben", "Bianca", "Carlos", "Chen",
  "Chloe", "Dana", "Daniel", "Diego", "Elena", "Eli", "Emma", "Farah", "Felix", "Grace", "Hana", "Hiro", "Ines", "Isaac",
  "Ivan", "Jamal", "Jana", "Jin", "Jonas", "Julia", "Kai", "Karin", "Kofi", "Lara", "Leo", "Lina", "Luca", "Maya",
  "Mei", "Mateo", "Nadia", "Nils", "Noah", "Nora", "Omar", "Oscar", "Priya", "Rafael", "Rosa", "Sam", "Sara", "Sofia",
  "Tariq", "Theo", "Uma", "Victor", "Wei", "Yara", "Yusuf", "Zoe",
] as const;

export const surnames = [
  "Abe", "Adeyemi", "Almeida", "Andersen", "Bauer", "Becker", "Bianchi", "Brown", "Chen", "Costa", "Dubois", "Eriksen",
  "Fischer", "Garcia", "Gomez", "Gupta", "Hansen", "Hoffmann", "Ito", "Jansen", "Kim", "Kowalski", "Kumar", "Larsen",
  "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Müller", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Park",
  "Patel", "Petrov", "Rossi", "Santos", "Sato", "Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor",
  "Wagner", "Walker", "Wang", "Weber", "Williams", "Wong", "Yamamoto", "Zhang",
] as const;

/** Time zone, locale and country a user can have (IANA zone, BCP 47 locale, ISO country). */
export const places = [
  ["America/New_York", "en-US", "US"],
  ["America/Chicago", "en-US", "US"],
  ["America/Los_Angeles", "en-US", "US"],
  ["America/Sao_Paulo", "pt-BR", "BR"],
  ["America/Mexico_City", "es-MX", "MX"],
  ["Europe/London", "en-GB", "GB"],
  ["Europe/Paris", "fr-FR", "FR"],
  ["Europe/Berlin", "de-DE", "DE"],
  ["Europe/Madrid", "es-ES", "ES"],
  ["Europe/Amsterdam", "nl-NL", "NL"],
  ["Europe/Warsaw", "pl-PL", "PL"],
  ["Asia/Kolkata", "en-IN", "IN"],
  ["Asia/Tokyo", "ja-JP", "JP"],
  ["Asia/Shanghai", "zh-CN", "CN"],
  ["Asia/Singapore", "en-SG", "SG"],
  ["Australia/Sydney", "en-AU", "AU"],
] as const;

export const tenantNames = [
  "Contoso", "Fabrikam", "Northwind Traders", "Tailspin Toys", "Woodgrove Bank", "Adatum", "Litware", "Proseware",
  "Wingtip Toys", "Alpine Ski House", "Coho Winery", "Fourth Coffee", "Relecloud", "Trey Research", "VanArsdel",
  "Wide World Importers",
] as const;

export const teamNames = [
  "Engineering", "Sales", "Marketing", "Support", "Finance", "People", "Legal", "Operations", "Product", "Design",
  "Research", "IT", "Security", "Facilities", "Communications", "Data", "Procurement", "Quality",
] as const;

export const channelNames = ["Announcements", "Random", "Help", "Projects", "Releases", "Social", "Incidents", "Planning"] as const;

export const chatTopics = ["Launch prep", "Lunch crew", "Offsite", "Hiring loop", "Budget review", "On-call", "Book club"] as const;

/** `Northwind Traders` → `northwindtraders`. */
export function slug(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9]/g, "")
    .toLowerCase();
}

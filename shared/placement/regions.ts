/**
 * Where the public regions of AWS and Azure are, and which geography each belongs to.
 *
 * A geography is a residency jurisdiction: "EU data stays in the EU" is a rule about a
 * geography. The set is small on purpose:
 *   us, ca, br, uk, ch, jp, kr, in, au  — countries whose data-protection regime the clouds
 *                                         sell as a boundary of its own
 *   eu      the EU member states plus Norway (EEA: the GDPR applies there directly)
 *   latam   Mexico, Chile
 *   apac    the rest of Asia-Pacific (Singapore, Hong Kong, Taiwan, Indonesia, Malaysia,
 *           Thailand, New Zealand)
 *   me      Israel, UAE, Bahrain, Qatar
 *   af      South Africa
 * UK and Switzerland are their own geographies, NOT part of `eu`: EU data may not be
 * assumed to stay in the EU when it goes to London or Zurich, and an `eu` data zone (Bedrock
 * `eu.*` profile, Azure Data Zone EU) does not keep UK or Swiss data in the UK or Switzerland.
 *
 * `zone` is the cross-region grouping a provider uses when it is wider than the region's own
 * geography (a Bedrock `apac.*` profile homed in Tokyo may be served in Sydney or Mumbai; an
 * `eu.*` profile may be homed in London or Zurich). A geography-scoped endpoint guarantees
 * only its zone, so Japanese data never counts an `apac` profile as "same geography".
 *
 * Not listed: AWS GovCloud, AWS China and the AWS European Sovereign Cloud (separate
 * partitions), Azure Government, Azure China and Azure canary (EUAP) regions. Coordinates are
 * the city a region is named after or sits near, good to tens of kilometres.
 */

export type RegionCloud = 'aws' | 'azure';

export interface RegionInfo {
  cloud: RegionCloud;
  /** As the cloud spells it: `eu-central-1`, `westeurope`. */
  name: string;
  geography: string;
  /** The provider's wider cross-region zone, when it differs from `geography`. */
  zone?: string;
  city: string;
  lat: number;
  lon: number;
}

export interface Coordinates {
  lat: number;
  lon: number;
}

/** The geography codes the table uses, with what each covers. On-prem sites should use these too. */
export const GEOGRAPHIES: Readonly<Record<string, string>> = {
  us: 'United States',
  ca: 'Canada',
  latam: 'Mexico and Chile',
  br: 'Brazil',
  eu: 'EU member states and Norway (EEA); not the UK, not Switzerland',
  uk: 'United Kingdom',
  ch: 'Switzerland',
  me: 'Israel, UAE, Bahrain, Qatar',
  af: 'South Africa',
  in: 'India',
  jp: 'Japan',
  kr: 'South Korea',
  au: 'Australia',
  apac: 'rest of Asia-Pacific: Singapore, Hong Kong, Taiwan, Indonesia, Malaysia, Thailand, New Zealand',
};

type Row = [name: string, geography: string, city: string, lat: number, lon: number, zone?: string];

const AWS: Row[] = [
  ['us-east-1', 'us', 'N. Virginia', 39.04, -77.49],
  ['us-east-2', 'us', 'Ohio', 39.96, -83.0],
  ['us-west-1', 'us', 'N. California', 37.35, -121.96],
  ['us-west-2', 'us', 'Oregon', 45.84, -119.7],
  ['ca-central-1', 'ca', 'Montreal', 45.5, -73.57],
  ['ca-west-1', 'ca', 'Calgary', 51.05, -114.07],
  ['mx-central-1', 'latam', 'Querétaro', 20.59, -100.39],
  ['sa-east-1', 'br', 'São Paulo', -23.55, -46.63],
  ['eu-central-1', 'eu', 'Frankfurt', 50.11, 8.68],
  ['eu-central-2', 'ch', 'Zurich', 47.37, 8.54, 'eu'],
  ['eu-west-1', 'eu', 'Dublin', 53.35, -6.26],
  ['eu-west-2', 'uk', 'London', 51.51, -0.13, 'eu'],
  ['eu-west-3', 'eu', 'Paris', 48.86, 2.35],
  ['eu-south-1', 'eu', 'Milan', 45.46, 9.19],
  ['eu-south-2', 'eu', 'Aragón', 41.65, -0.88],
  ['eu-north-1', 'eu', 'Stockholm', 59.33, 18.07],
  ['il-central-1', 'me', 'Tel Aviv', 32.09, 34.78],
  ['me-south-1', 'me', 'Bahrain', 26.07, 50.56],
  ['me-central-1', 'me', 'UAE', 25.2, 55.27],
  ['af-south-1', 'af', 'Cape Town', -33.92, 18.42],
  ['ap-east-1', 'apac', 'Hong Kong', 22.32, 114.17],
  ['ap-east-2', 'apac', 'Taipei', 25.03, 121.56],
  ['ap-south-1', 'in', 'Mumbai', 19.08, 72.88, 'apac'],
  ['ap-south-2', 'in', 'Hyderabad', 17.39, 78.49, 'apac'],
  ['ap-southeast-1', 'apac', 'Singapore', 1.35, 103.82],
  ['ap-southeast-2', 'au', 'Sydney', -33.87, 151.21, 'apac'],
  ['ap-southeast-3', 'apac', 'Jakarta', -6.21, 106.85],
  ['ap-southeast-4', 'au', 'Melbourne', -37.81, 144.96, 'apac'],
  ['ap-southeast-5', 'apac', 'Kuala Lumpur', 3.14, 101.69],
  ['ap-southeast-6', 'apac', 'Auckland', -36.85, 174.76],
  ['ap-southeast-7', 'apac', 'Bangkok', 13.76, 100.5],
  ['ap-northeast-1', 'jp', 'Tokyo', 35.68, 139.69, 'apac'],
  ['ap-northeast-2', 'kr', 'Seoul', 37.57, 126.98, 'apac'],
  ['ap-northeast-3', 'jp', 'Osaka', 34.69, 135.5, 'apac'],
];

// Azure Data Zones exist only for `us` and `eu`, and match those geographies exactly, so no
// Azure row needs a wider zone.
const AZURE: Row[] = [
  ['eastus', 'us', 'Virginia', 37.37, -79.82],
  ['eastus2', 'us', 'Virginia', 36.68, -78.39],
  ['centralus', 'us', 'Iowa', 41.59, -93.6],
  ['northcentralus', 'us', 'Illinois', 41.88, -87.63],
  ['southcentralus', 'us', 'Texas', 29.42, -98.49],
  ['westcentralus', 'us', 'Wyoming', 41.14, -104.82],
  ['westus', 'us', 'California', 37.78, -122.42],
  ['westus2', 'us', 'Washington', 47.23, -119.85],
  ['westus3', 'us', 'Phoenix', 33.45, -112.07],
  ['canadacentral', 'ca', 'Toronto', 43.65, -79.38],
  ['canadaeast', 'ca', 'Quebec City', 46.82, -71.22],
  ['mexicocentral', 'latam', 'Querétaro', 20.59, -100.39],
  ['chilecentral', 'latam', 'Santiago', -33.45, -70.67],
  ['brazilsouth', 'br', 'São Paulo', -23.55, -46.63],
  ['brazilsoutheast', 'br', 'Rio de Janeiro', -22.91, -43.17],
  ['northeurope', 'eu', 'Dublin', 53.35, -6.26],
  ['westeurope', 'eu', 'Amsterdam', 52.37, 4.9],
  ['francecentral', 'eu', 'Paris', 48.86, 2.35],
  ['francesouth', 'eu', 'Marseille', 43.3, 5.37],
  ['germanywestcentral', 'eu', 'Frankfurt', 50.11, 8.68],
  ['germanynorth', 'eu', 'Berlin', 52.52, 13.4],
  ['swedencentral', 'eu', 'Gävle', 60.67, 17.14],
  ['swedensouth', 'eu', 'Malmö', 55.6, 13.0],
  ['norwayeast', 'eu', 'Oslo', 59.91, 10.75],
  ['norwaywest', 'eu', 'Stavanger', 58.97, 5.73],
  ['italynorth', 'eu', 'Milan', 45.46, 9.19],
  ['polandcentral', 'eu', 'Warsaw', 52.23, 21.01],
  ['spaincentral', 'eu', 'Madrid', 40.42, -3.7],
  ['austriaeast', 'eu', 'Vienna', 48.21, 16.37],
  ['belgiumcentral', 'eu', 'Brussels', 50.85, 4.35],
  ['uksouth', 'uk', 'London', 51.51, -0.13],
  ['ukwest', 'uk', 'Cardiff', 51.48, -3.18],
  ['switzerlandnorth', 'ch', 'Zurich', 47.37, 8.54],
  ['switzerlandwest', 'ch', 'Geneva', 46.2, 6.14],
  ['israelcentral', 'me', 'Tel Aviv', 32.09, 34.78],
  ['uaenorth', 'me', 'Dubai', 25.27, 55.3],
  ['uaecentral', 'me', 'Abu Dhabi', 24.47, 54.37],
  ['qatarcentral', 'me', 'Doha', 25.29, 51.53],
  ['southafricanorth', 'af', 'Johannesburg', -26.2, 28.05],
  ['southafricawest', 'af', 'Cape Town', -33.92, 18.42],
  ['centralindia', 'in', 'Pune', 18.52, 73.86],
  ['southindia', 'in', 'Chennai', 13.08, 80.27],
  ['westindia', 'in', 'Mumbai', 19.08, 72.88],
  ['jioindiawest', 'in', 'Jamnagar', 22.47, 70.06],
  ['jioindiacentral', 'in', 'Nagpur', 21.15, 79.09],
  ['japaneast', 'jp', 'Tokyo', 35.68, 139.69],
  ['japanwest', 'jp', 'Osaka', 34.69, 135.5],
  ['koreacentral', 'kr', 'Seoul', 37.57, 126.98],
  ['koreasouth', 'kr', 'Busan', 35.18, 129.08],
  ['eastasia', 'apac', 'Hong Kong', 22.32, 114.17],
  ['southeastasia', 'apac', 'Singapore', 1.35, 103.82],
  ['indonesiacentral', 'apac', 'Jakarta', -6.21, 106.85],
  ['malaysiawest', 'apac', 'Kuala Lumpur', 3.14, 101.69],
  ['newzealandnorth', 'apac', 'Auckland', -36.85, 174.76],
  ['australiaeast', 'au', 'Sydney', -33.87, 151.21],
  ['australiasoutheast', 'au', 'Melbourne', -37.81, 144.96],
  ['australiacentral', 'au', 'Canberra', -35.28, 149.13],
  ['australiacentral2', 'au', 'Canberra', -35.31, 149.19],
];

function index(cloud: RegionCloud, rows: Row[]): Map<string, RegionInfo> {
  return new Map(
    rows.map(([name, geography, city, lat, lon, zone]) => [name, { cloud, name, geography, city, lat, lon, ...(zone ? { zone } : {}) }]),
  );
}

const TABLE: Record<RegionCloud, Map<string, RegionInfo>> = { aws: index('aws', AWS), azure: index('azure', AZURE) };

/** Every region in the table, AWS first. */
export const REGIONS: readonly RegionInfo[] = [...TABLE.aws.values(), ...TABLE.azure.values()];

/** Azure also accepts display names (`West Europe`); the table uses the API spelling. */
function normalize(cloud: string, region: string): string {
  const r = region.trim().toLowerCase();
  return cloud === 'azure' ? r.replace(/\s+/g, '') : r;
}

/**
 * The table entry for a cloud region, or `undefined` when the cloud or region is not known.
 *
 * @example
 * lookupRegion('azure', 'westeurope')?.geography // → 'eu'
 * lookupRegion('aws', 'eu-west-2')?.geography    // → 'uk'
 */
export function lookupRegion(cloud: string, region: string): RegionInfo | undefined {
  if (cloud !== 'aws' && cloud !== 'azure') return undefined;
  return TABLE[cloud].get(normalize(cloud, region));
}

/** The cloud whose region names include `region` (AWS and Azure spellings never collide). */
export function cloudOfRegion(region: string): RegionCloud | undefined {
  if (lookupRegion('aws', region)) return 'aws';
  if (lookupRegion('azure', region)) return 'azure';
  return undefined;
}

const EARTH_RADIUS_KM = 6371.0088;

/**
 * Great-circle distance in kilometres (haversine on a spherical Earth; error under 0.5 %).
 *
 * @example
 * greatCircleKm({ lat: 50.11, lon: 8.68 }, { lat: 52.37, lon: 4.9 }) // → ~364 (Frankfurt–Amsterdam)
 */
export function greatCircleKm(a: Coordinates, b: Coordinates): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

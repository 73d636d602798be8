import { InvalidPatternError } from '../core/errors.ts';

/*
 * The `cidr` operator: an event string that is an IPv4 or IPv6 address inside the block.
 * Addresses become bigints so one comparison serves both families; an IPv4 block never
 * matches an IPv6 address and vice versa. As in EventBridge, an IPv6 address is written in
 * hex groups only (no dotted IPv4 tail such as ::ffff:10.0.0.1), and a block is shorter than
 * the address (at most /31 and /127): a single address is matched as an exact value.
 */

export interface IpAddress {
  bits: 32 | 128;
  value: bigint;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** The address an IPv4 or IPv6 literal spells, or undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === undefined ? undefined : { bits: 128, value };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { bits: 32, value };
}

function parseIpv4(text: string): bigint | undefined {
  const octets = IPV4.exec(text);
  if (!octets) return undefined;
  let value = 0n;
  for (const octet of octets.slice(1)) {
    const n = Number(octet);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string | undefined): string[] | undefined => {
    if (part === undefined || part === '') return [];
    const groups = part.split(':');
    return groups.every((g) => HEX_GROUP.test(g)) ? groups : undefined;
  };
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  if (head === undefined || tail === undefined) return undefined;
  const compressed = halves.length === 2;
  const missing = 8 - head.length - tail.length;
  if (compressed ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  return groups.reduce((value, group) => (value << 16n) | BigInt(`0x${group}`), 0n);
}

/** A block: `10.0.0.0/24`, `2001:db8::/32`. Host bits below the mask are ignored. */
export interface CidrBlock {
  bits: 32 | 128;
  network: bigint;
  shift: bigint;
}

export function parseCidr(text: string, path: string): CidrBlock {
  const slash = text.indexOf('/');
  const [address, length] = slash < 0 ? [text, ''] : [text.slice(0, slash), text.slice(slash + 1)];
  const ip = parseIp(address);
  if (ip === undefined && address.includes(':') && address.includes('.')) {
    throw new InvalidPatternError(`cidr takes IPv6 addresses in hex groups only (EventBridge refuses a dotted IPv4 tail), got ${JSON.stringify(text)}`, path);
  }
  if (ip === undefined) {
    throw new InvalidPatternError(`cidr expects an IPv4 or IPv6 block such as "10.0.0.0/24", got ${JSON.stringify(text)}`, path);
  }
  const prefix = /^\d{1,3}$/.test(length) ? Number(length) : NaN;
  if (!(prefix >= 0 && prefix < ip.bits)) {
    const single = prefix === ip.bits ? `; for the single address, match ${JSON.stringify(address)} as an exact value` : '';
    throw new InvalidPatternError(
      `cidr needs a prefix length from 0 to ${ip.bits - 1} after "/", got ${JSON.stringify(text)}${single}`,
      path,
    );
  }
  const shift = BigInt(ip.bits - prefix);
  return { bits: ip.bits, network: ip.value >> shift, shift };
}

// Money on screen: integer minor units with a currency, converted exactly by string arithmetic
// (never through floating point), and parsed back the same way.

const DIGITS = { CNY: 2, USD: 2, EUR: 2, HKD: 2, TWD: 2, GBP: 2, JPY: 0, KRW: 0 };
const SYMBOL = { CNY: "¥", USD: "$", EUR: "€", HKD: "HK$", TWD: "NT$", GBP: "£", JPY: "¥", KRW: "₩" };

export function digits(currency) {
  return DIGITS[currency] ?? 2;
}

function group(intPart) {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// formatMoney(15900, "CNY") -> "¥159.00"; BigInt-safe for any integer (number or bigint)
export function formatMoney(minor, currency) {
  if (minor === null || minor === undefined) return "";
  const n = BigInt(minor);
  const neg = n < 0n;
  const abs = (neg ? -n : n).toString();
  const d = digits(currency);
  let out;
  if (d === 0) out = group(abs);
  else {
    const padded = abs.padStart(d + 1, "0");
    out = group(padded.slice(0, -d)) + "." + padded.slice(-d);
  }
  const sym = SYMBOL[currency];
  return (neg ? "-" : "") + (sym ? sym + out : out + " " + currency);
}

// parseMoney("159.9", "CNY") -> 15990; null when the text is not an amount with at most the currency's digits
export function parseMoney(text, currency) {
  const s = String(text).trim().replace(/,/g, "");
  const d = digits(currency);
  const m = d === 0 ? /^(\d+)$/.exec(s) : new RegExp("^(\\d+)(?:\\.(\\d{1," + d + "}))?$").exec(s);
  if (!m) return null;
  const minor = BigInt(m[1]) * 10n ** BigInt(d) + BigInt((m[2] || "").padEnd(d, "0") || "0");
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(minor);
}

// the minor units as a plain decimal string, for an input's value: 15900 -> "159.00"
export function toDecimal(minor, currency) {
  const d = digits(currency);
  const abs = BigInt(minor).toString();
  if (d === 0) return abs;
  const padded = abs.padStart(d + 1, "0");
  return padded.slice(0, -d) + "." + padded.slice(-d);
}

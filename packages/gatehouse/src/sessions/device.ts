// A readable device for a session or a notice: "Chrome on macOS". A few patterns, no dependency: the
// maintained parsers are large (ua-parser-js 2 is also AGPL), and a family and an OS are all anyone reads here.
// The browser family and the OS, not their versions: an update must not make a known laptop new. Order matters
// (Edge and Opera say "Chrome" too, Chrome says "Safari").
const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(Chrome|CriOS|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*Safari\//, 'Safari'],
];
const SYSTEMS: ReadonlyArray<[RegExp, string]> = [
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** "Firefox on Linux"; for a user agent no table row knows, its first product token ("curl", "okhttp"). */
export function deviceOf(userAgent: string | null): string {
  if (!userAgent) return 'unknown';
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1] ?? (/^[\w.-]+/.exec(userAgent)?.[0]?.toLowerCase() ?? 'unknown');
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  return system ? `${browser} on ${system}` : browser;
}

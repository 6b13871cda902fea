/**
 * Country calling codes (ITU-T E.164) and what a phone number is matched on
 * for the SMS country guard (core/sms-countries.ts): the calling code, the
 * longest prefix in the table; for +1 (the North American Numbering Plan) the
 * area code of the members other than the US and Canada. Also the
 * `calling_code` dimension of the send metrics (core/metrics.ts).
 */

/** ISO 3166 alpha-2 -> country calling code (ITU-T E.164). NANP members outside the US and Canada are in NANP_AREA_CODES. */
export const CALLING_CODES: Record<string, string> = Object.fromEntries(
  (
    'AD376 AE971 AF93 AL355 AM374 AO244 AR54 AT43 AU61 AW297 AX358 AZ994 BA387 BD880 BE32 BF226 BG359 BH973 BI257 BJ229 BL590 BN673 BO591 BQ599 ' +
    'BR55 BT975 BW267 BY375 BZ501 CA1 CC61 CD243 CF236 CG242 CH41 CI225 CK682 CL56 CM237 CN86 CO57 CR506 CU53 CV238 CW599 CX61 CY357 CZ420 ' +
    'DE49 DJ253 DK45 DZ213 EC593 EE372 EG20 EH212 ER291 ES34 ET251 FI358 FJ679 FK500 FM691 FO298 FR33 GA241 GB44 GE995 GF594 GG44 GH233 GI350 ' +
    'GL299 GM220 GN224 GP590 GQ240 GR30 GT502 GW245 GY592 HK852 HN504 HR385 HT509 HU36 ID62 IE353 IL972 IM44 IN91 IO246 IQ964 IR98 IS354 IT39 ' +
    'JE44 JO962 JP81 KE254 KG996 KH855 KI686 KM269 KP850 KR82 KW965 KZ7 LA856 LB961 LI423 LK94 LR231 LS266 LT370 LU352 LV371 LY218 MA212 ' +
    'MC377 MD373 ME382 MF590 MG261 MH692 MK389 ML223 MM95 MN976 MO853 MQ596 MR222 MT356 MU230 MV960 MW265 MX52 MY60 MZ258 NA264 NC687 NE227 ' +
    'NF672 NG234 NI505 NL31 NO47 NP977 NR674 NU683 NZ64 OM968 PA507 PE51 PF689 PG675 PH63 PK92 PL48 PM508 PS970 PT351 PW680 PY595 QA974 RE262 ' +
    'RO40 RS381 RU7 RW250 SA966 SB677 SC248 SD249 SE46 SG65 SH290 SI386 SJ47 SK421 SL232 SM378 SN221 SO252 SR597 SS211 ST239 SV503 SY963 SZ268 ' +
    'TD235 TG228 TH66 TJ992 TK690 TL670 TM993 TN216 TO676 TR90 TV688 TW886 TZ255 UA380 UG256 US1 UY598 UZ998 VA39 VE58 VN84 VU678 WF681 WS685 ' +
    'XK383 YE967 YT262 ZA27 ZM260 ZW263'
  )
    .split(' ')
    .map((entry) => [entry.slice(0, 2), entry.slice(2)]),
);

/** NANP area codes of the members other than the US and Canada (each a country of its own here). */
export const NANP_AREA_CODES: Record<string, string> = {
  '684': 'AS', '264': 'AI', '268': 'AG', '242': 'BS', '246': 'BB', '441': 'BM', '284': 'VG', '345': 'KY', '767': 'DM',
  '809': 'DO', '829': 'DO', '849': 'DO', '473': 'GD', '671': 'GU', '876': 'JM', '658': 'JM', '664': 'MS', '670': 'MP',
  '787': 'PR', '939': 'PR', '869': 'KN', '758': 'LC', '784': 'VC', '721': 'SX', '868': 'TT', '649': 'TC', '340': 'VI',
};

/** The ISO codes a client may list: every country of the tables. */
export const SMS_COUNTRIES: ReadonlySet<string> = new Set([...Object.keys(CALLING_CODES), ...Object.values(NANP_AREA_CODES)]);

const COUNTRIES_OF_CODE = new Map<string, string[]>();
for (const [iso, code] of Object.entries(CALLING_CODES)) COUNTRIES_OF_CODE.set(code, [...(COUNTRIES_OF_CODE.get(code) ?? []), iso]);

/** The country calling code of an E.164 number (`+447700900123` -> `44`), or undefined when none in the table matches. */
export function callingCodeOf(phoneNumber: string): string | undefined {
  const digits = /^\+(\d{2,15})$/.exec(phoneNumber.trim())?.[1];
  if (!digits) return undefined;
  for (let length = 3; length >= 1; length--) {
    if (COUNTRIES_OF_CODE.has(digits.slice(0, length))) return digits.slice(0, length);
  }
  return undefined;
}

/** The countries an E.164 number may belong to by what is matched (see above); empty when unknown. */
export function countriesOf(phoneNumber: string): string[] {
  const code = callingCodeOf(phoneNumber);
  if (code === undefined) return [];
  if (code === '1') {
    const member = NANP_AREA_CODES[phoneNumber.trim().slice(2, 5)];
    return member ? [member] : ['US', 'CA'];
  }
  return COUNTRIES_OF_CODE.get(code) ?? [];
}

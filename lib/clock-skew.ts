/**
 * How far apart the clocks caloprod compares may be: this host's, another submit node's, nopayloaddb's. 5 minutes, the
 * skew Kerberos tolerates by default, which the sites' hosts are kept within (NTP; docs/operations.md, "Clocks").
 */
export const CLOCK_SKEW_MS = 5 * 60 * 1000

/** `2026-12-01 02:15 UTC` from an ISO time; empty for none: how the page, status and why give a time. */
export const utcMinute = (iso: string | undefined) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '')

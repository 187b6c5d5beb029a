import { describe, expect, it } from 'vitest';
import { describeRange, parseTime, resolveRange } from './time';
import { formatDate, instant, offset, wall, zoneName } from './tz';

const berlin = 'Europe/Berlin';

describe('time zones', () => {
  it('reads wall clocks and offsets through Intl', () => {
    const t = Date.UTC(2026, 0, 15, 13, 45, 30);
    expect(wall(t, berlin)).toMatchObject({ year: 2026, month: 0, day: 15, hour: 14, minute: 45, second: 30, weekday: 4 });
    expect(offset(t, berlin)).toBe(3600000);
    expect(offset(Date.UTC(2026, 6, 1), berlin)).toBe(7200000);
    expect(offset(t, 'Asia/Kolkata')).toBe(5.5 * 3600000);
    expect(zoneName('utc')).toBe('UTC');
    expect(zoneName('')).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });
  it('finds the instant of a wall time, across daylight saving changes', () => {
    expect(instant(berlin, 2026, 0, 15, 0)).toBe(Date.UTC(2026, 0, 14, 23));
    // 02:30 on 29 March does not exist in Berlin: it moves on by the gap.
    expect(instant(berlin, 2026, 2, 29, 2, 30)).toBe(Date.UTC(2026, 2, 29, 1, 30));
    // 02:30 on 25 October comes twice: the first.
    expect(instant(berlin, 2026, 9, 25, 2, 30)).toBe(Date.UTC(2026, 9, 25, 0, 30));
  });
  it('formats times in a zone', () => {
    expect(formatDate(Date.UTC(2026, 2, 29, 4, 5, 6, 7), berlin, 'YYYY-MM-DD HH:mm:ss.SSS Z')).toBe('2026-03-29 06:05:06.007 +02:00');
    expect(formatDate(Date.UTC(2026, 2, 29, 4, 5, 6), 'America/New_York', 'hh:mm A Z')).toBe('12:05 AM -04:00');
  });
});

describe('relative times in a zone', () => {
  const now = Date.UTC(2026, 0, 15, 13, 45, 30); // Thursday, 14:45 in Berlin
  it('rounds to the day and week in the zone', () => {
    expect(parseTime('now/d', now, false, berlin)).toBe(Date.UTC(2026, 0, 14, 23));
    expect(parseTime('now/d', now, true, berlin)).toBe(Date.UTC(2026, 0, 15, 23) - 1);
    expect(parseTime('now-1d/d', now, false, berlin)).toBe(Date.UTC(2026, 0, 13, 23));
    expect(parseTime('now/w', now, false, berlin)).toBe(Date.UTC(2026, 0, 11, 23)); // Monday
    expect(parseTime('now/w', now, false, berlin, 'sunday')).toBe(Date.UTC(2026, 0, 10, 23));
    expect(parseTime('now/M', now, false, berlin)).toBe(Date.UTC(2025, 11, 31, 23));
    expect(parseTime('now/y', now, true, berlin)).toBe(Date.UTC(2026, 11, 31, 23) - 1);
    // New York is still on the 14th at 03:00 UTC on the 15th.
    expect(parseTime('now/d', Date.UTC(2026, 0, 15, 3), false, 'America/New_York')).toBe(Date.UTC(2026, 0, 14, 5));
    // Half-hour zones round hours on their own clock.
    expect(parseTime('now/h', now, false, 'Asia/Kolkata')).toBe(Date.UTC(2026, 0, 15, 13, 30));
  });
  it('has 23- and 25-hour days where daylight saving time changes', () => {
    const spring = Date.UTC(2026, 2, 29, 12);
    const r = resolveRange('now/d', 'now/d', spring, berlin)!;
    expect(r.from).toBe(Date.UTC(2026, 2, 28, 23));
    expect(r.to + 1 - r.from).toBe(23 * 3600000);
    const autumn = resolveRange('now/d', 'now/d', Date.UTC(2026, 9, 25, 12), berlin)!;
    expect(autumn.from).toBe(Date.UTC(2026, 9, 24, 22));
    expect(autumn.to + 1 - autumn.from).toBe(25 * 3600000);
    // now-1d is this time yesterday on the clock: 23 hours back here.
    expect(parseTime('now-1d', spring, false, berlin)).toBe(spring - 23 * 3600000);
    expect(parseTime('now-6h', spring, false, berlin)).toBe(spring - 6 * 3600000);
  });
  it('starts a day whose midnight the clock skips at the first minute it has', () => {
    // Chile moves its clocks forward at midnight in September.
    const zone = 'America/Santiago';
    const noon = instant(zone, 2026, 8, 6, 12);
    const start = parseTime('now/d', noon, false, zone)!;
    expect(wall(start, zone).day).toBe(6);
    expect(wall(start - 1, zone).day).toBe(5);
    expect(wall(start, zone).hour).toBe(offset(noon, zone) === offset(noon - 86400000, zone) ? 0 : 1);
  });
  it('moves by calendar months and keeps the day in the month', () => {
    // 12:00 summer time on 31 March is 12:00 winter time on 28 February.
    expect(parseTime('now-1M', Date.UTC(2026, 2, 31, 10), false, berlin)).toBe(Date.UTC(2026, 1, 28, 11));
    expect(parseTime('now-1y', Date.UTC(2028, 1, 29, 10), false, 'UTC')).toBe(Date.UTC(2027, 1, 28, 10));
  });
  it('reads absolute times without an offset in the zone, and shows them there', () => {
    expect(parseTime('2026-01-15 10:00', now, false, berlin)).toBe(Date.UTC(2026, 0, 15, 9));
    expect(parseTime('2026-01-15T10:00:00Z', now, false, berlin)).toBe(Date.UTC(2026, 0, 15, 10));
    expect(describeRange(String(Date.UTC(2026, 0, 15, 9)), 'now', berlin)).toBe('2026-01-15 10:00:00 to now');
  });
});

import { ConfigError } from '@laminar/runtime';
import { type Config, feedUrlList } from './config.ts';

/** Reads one SSM parameter's value (Powertools Parameters in the handler, a stub in tests). */
export type ParameterReader = (name: string) => Promise<string | undefined>;

/**
 * The feeds of this run: FEED_URLS as configured, or the list held in FEED_URLS_PARAMETER. The
 * parameter is read through a cache (5 minutes in the handler), so editing it takes effect within
 * one or two schedules without a deploy; an unreadable or invalid list fails the invocation
 * naming the parameter, since polling nothing would look like success.
 */
export async function resolveFeedUrls(config: Config, read: ParameterReader): Promise<string[]> {
  if (config.FEED_URLS) return config.FEED_URLS;
  const name = config.FEED_URLS_PARAMETER as string;
  const value = await read(name).catch((err: unknown) => {
    throw new ConfigError(`FEED_URLS_PARAMETER: cannot read SSM parameter ${name}: ${(err as Error).message}`);
  });
  const parsed = feedUrlList.safeParse(value ?? '');
  if (!parsed.success) {
    throw new ConfigError(`FEED_URLS_PARAMETER: SSM parameter ${name} does not hold a feed list: ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}

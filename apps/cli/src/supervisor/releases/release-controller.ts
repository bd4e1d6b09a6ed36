import { AppError, notFound } from '@mercato/chassis/errors';
import type { ServiceProcess } from '../service-process.ts';
import { blueGreenRelease, retireStandbys, switchOver } from './blue-green-release.ts';
import { type AnalysisThresholds, defaultThresholds } from './canary-analysis.ts';
import { canaryRelease, defaultSteps } from './canary-release.ts';
import { progress, type ReleaseEvent, type ReleaseHost } from './release-steps.ts';
import { rollingRelease } from './rolling-release.ts';

export const strategies = ['rolling', 'blue-green', 'canary'] as const;
export type Strategy = (typeof strategies)[number];

export interface ReleaseRequest {
  service: string;
  strategy: Strategy;
  /** A version label (`mercato build --label`), or `current`: the working tree's build. */
  to: string;
  /** A canary's analysis window (ms), the fewest canary calls it judges, and its p99 margin (ms). */
  analysis?: { intervalMs: number; minSample: number; p99MarginMs?: number };
  /** A blue-green release's smoke check: a gateway path testers' calls ask of the green set. */
  smokePath?: string;
}

/** Release steps kept for the console: the newest first, this many at most. */
const KEPT_STEPS = 200;

/** One step of a release, a rollback or an autoscaling change, as the console lists it. */
export type ReleaseStep = ReleaseEvent & { service: string; at: string; seq: number };

/** What `mercato rollback` did: which instances serve now, which stand by, how long it took. */
export interface RollbackResult {
  service: string;
  active: string[];
  standby: string[];
  took_ms: number;
}

/** What the platform lends a release once it is up. */
export interface PlatformReleases extends ReleaseHost {
  /** Why `service` cannot be released in this run, or undefined when it can. */
  refusal: (service: string) => string | undefined;
  /** The version id (`<label>@<hash>`) of `label`, made ready to launch; throws a reason if there is none. */
  prepare: (service: string, label: string) => Promise<string>;
  /** A blue-green release's check of the green set alone (see smoke-check.ts). */
  smoke: (green: readonly ServiceProcess[], path: string | undefined) => Promise<string>;
  /** How long green must stay up after it is ready, before the switch. */
  settleMs: number;
}

const refused = (code: string, message: string) => new AppError({ code, kind: 'unprocessable', message });

/**
 * Releases, one at a time: checks a request before anything changes (unknown service, a service
 * that cannot be released, a version not built), then runs its strategy, reporting each step.
 */
export class ReleaseController {
  #platform: PlatformReleases | undefined;
  #active: string | undefined;
  readonly #steps: ReleaseStep[] = [];
  #seq = 0;

  /** Keeps a step of a release, rollback or autoscaling change for the console. */
  record(service: string, event: ReleaseEvent): void {
    this.#seq += 1;
    this.#steps.unshift({ service, at: new Date().toISOString(), seq: this.#seq, ...event });
    this.#steps.length = Math.min(this.#steps.length, KEPT_STEPS);
  }

  /** This run's steps, newest first. */
  steps(): readonly ReleaseStep[] {
    return this.#steps;
  }

  /** The platform is up: releases can start. */
  attach(platform: PlatformReleases): void {
    this.#platform = platform;
  }

  /**
   * Runs `change` to a service's instances (the autoscaler's) unless a release is under way; a
   * release asked for meanwhile is refused as in progress. False when it did not run.
   */
  async exclusive(service: string, change: () => Promise<void>): Promise<boolean> {
    if (this.#active) return false;
    this.#active = `${service} (autoscaling)`;
    try {
      await change();
      return true;
    } finally {
      this.#active = undefined;
    }
  }

  /** Checks `request`, then returns the release to run (it reports through `report`). */
  async begin(request: ReleaseRequest): Promise<(report: (event: ReleaseEvent) => void) => Promise<boolean>> {
    const platform = this.#platform;
    if (!platform)
      throw new AppError({
        code: 'RELEASE.PLATFORM_STARTING',
        kind: 'unavailable',
        message: 'The platform is still starting; release once every service is ready',
      });
    if (platform.instances(request.service).length === 0)
      throw notFound('RELEASE.NO_SUCH_SERVICE', `No service named ${request.service} runs here`);
    const refusal = platform.refusal(request.service);
    if (refusal) throw refused('RELEASE.NOT_RELEASABLE', refusal);
    if (this.#active)
      throw new AppError({
        code: 'RELEASE.IN_PROGRESS',
        kind: 'conflict',
        message: `A release of ${this.#active} is in progress; one release at a time`,
      });
    this.#active = request.service;
    let version: string;
    try {
      version = await platform.prepare(request.service, request.to);
    } catch (error) {
      this.#active = undefined;
      throw refused('RELEASE.NO_SUCH_VERSION', (error as Error).message);
    }
    const thresholds: AnalysisThresholds = {
      ...defaultThresholds,
      minSample: request.analysis?.minSample ?? defaultThresholds.minSample,
      p99MarginMs: request.analysis?.p99MarginMs ?? defaultThresholds.p99MarginMs,
    };
    return async (report) => {
      try {
        // A new release replaces the standby set the last blue-green release kept.
        await retireStandbys(platform, request.service, progress(report));
        if (request.strategy === 'blue-green')
          return await blueGreenRelease(
            platform,
            request.service,
            version,
            {
              settleMs: platform.settleMs,
              smoke: (green) => platform.smoke(green, request.smokePath),
            },
            report,
          );
        return request.strategy === 'canary'
          ? await canaryRelease(
              platform,
              request.service,
              version,
              {
                steps: defaultSteps,
                intervalMs: request.analysis?.intervalMs ?? 30_000,
                warmupMs: Math.min(10_000, (request.analysis?.intervalMs ?? 30_000) / 2),
                thresholds,
                maxInconclusive: 3,
              },
              report,
            )
          : await rollingRelease(platform, request.service, version, report);
      } finally {
        this.#active = undefined;
      }
    };
  }

  /**
   * Switches a service back to the standby set its last blue-green release kept, in one step: the
   * registry's weights first (new calls go there at once), then deliveries and duties.
   */
  async rollback(service: string): Promise<RollbackResult> {
    const platform = this.#platform;
    if (!platform)
      throw new AppError({
        code: 'RELEASE.PLATFORM_STARTING',
        kind: 'unavailable',
        message: 'The platform is still starting; roll back once every service is ready',
      });
    const active = platform.instances(service);
    const standby = platform.standbys(service);
    if (active.length === 0 && standby.length === 0)
      throw notFound('RELEASE.NO_SUCH_SERVICE', `No service named ${service} runs here`);
    if (standby.length === 0)
      throw new AppError({
        code: 'RELEASE.NO_STANDBY',
        kind: 'conflict',
        message: `${service} has no standby set to switch back to: only a blue-green release keeps one`,
      });
    if (this.#active)
      throw new AppError({
        code: 'RELEASE.IN_PROGRESS',
        kind: 'conflict',
        message: `A release of ${this.#active} is in progress; one release at a time`,
      });
    this.#active = `${service} (rollback)`;
    const began = performance.now();
    try {
      await switchOver(platform, standby, active);
    } catch (error) {
      // The weights switched (calls go back) but an instance did not confirm its new role in time.
      throw new AppError({
        code: 'RELEASE.ROLE_NOT_CONFIRMED',
        kind: 'unavailable',
        message: `calls switched back, but ${(error as Error).message}; see the supervisor's log`,
      });
    } finally {
      this.#active = undefined;
    }
    return {
      service,
      active: standby.map((instance) => instance.name),
      standby: active.map((instance) => instance.name),
      took_ms: Math.round(performance.now() - began),
    };
  }
}

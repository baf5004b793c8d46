import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { assert, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/built-app.js';

const run = promisify(execFile);

// The Kubernetes API schemas of kubernetes-models (pinned in package.json; generated from the
// Kubernetes 1.34 OpenAPI document: its PodSpec has 1.34's hostnameOverride). Offline: the
// validators are compiled into the package.
type Validatable = { validate(): void };
type ModelClass = new (data: any) => Validatable;
const MODELS: Record<string, () => Promise<ModelClass>> = {
  'v1/ConfigMap': async () => (await import('kubernetes-models/v1/ConfigMap')).ConfigMap,
  'v1/Service': async () => (await import('kubernetes-models/v1/Service')).Service,
  'apps/v1/Deployment': async () => (await import('kubernetes-models/apps/v1/Deployment')).Deployment,
  'policy/v1/PodDisruptionBudget': async () => (await import('kubernetes-models/policy/v1/PodDisruptionBudget')).PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': async () =>
    (await import('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler')).HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': async () => (await import('kubernetes-models/networking.k8s.io/v1/NetworkPolicy')).NetworkPolicy,
};

type Manifest = Record<string, any>;

const DIRS = ['base', 'overlays/redis', 'examples/auth0', 'examples/standards-issuer'] as const;

/** `kubectl kustomize <dir>`, parsed. */
async function render(dir: string): Promise<Manifest[]> {
  const { stdout } = await run('kubectl', ['kustomize', join(ROOT, 'deploy/kubernetes', dir)]);
  return parseAllDocuments(stdout).map((d) => d.toJS() as Manifest);
}

const ofKind = (docs: Manifest[], kind: string, name?: string) =>
  docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
const one = (docs: Manifest[], kind: string, name = 'nest-m2m') => {
  const found = ofKind(docs, kind, name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!; // found has one element (asserted above)
};

describe('deploy/kubernetes, rendered by kubectl kustomize', () => {
  const rendered = new Map<string, Manifest[]>();
  beforeAll(async () => {
    for (const dir of DIRS) rendered.set(dir, await render(dir));
  }, 60_000);

  it.each(DIRS)('every_object_of_%s_is_valid_against_the_kubernetes_api_schema', async (dir) => {
    for (const doc of rendered.get(dir)!) {
      const key = `${doc.apiVersion}/${doc.kind}`;
      const load = MODELS[key];
      assert(load, `no schema loaded for ${key}`);
      const Model = await load();
      expect(() => new Model(doc).validate(), `${key} ${doc.metadata?.name}`).not.toThrow();
    }
  });

  it('the_validator_refuses_a_mistyped_manifest', async () => {
    const deployment = structuredClone(one(rendered.get('base')!, 'Deployment'));
    deployment.spec.template.spec.containers[0].readinessProbe.httpGet.port = { name: 'http' };
    const Model = await MODELS['apps/v1/Deployment']!(); // a key of MODELS above
    expect(() => new Model(deployment).validate()).toThrow();
  });

  it.each(DIRS)('the_pods_of_%s_run_non_root_read_only_without_capabilities_under_seccomp', (dir) => {
    for (const deployment of ofKind(rendered.get(dir)!, 'Deployment')) {
      const pod = deployment.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, deployment.metadata.name).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of pod.containers) {
        expect(c.securityContext, c.name).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.securityContext.capabilities.add).toBeUndefined();
        expect(c.securityContext.privileged).not.toBe(true);
        expect(c.resources.requests.cpu, c.name).toBeDefined();
        expect(c.resources.requests.memory, c.name).toBeDefined();
        expect(c.resources.limits.memory, c.name).toBeDefined();
      }
    }
  });

  it('the_service_is_probed_on_health_for_start_and_liveness_and_on_health_ready_for_traffic', () => {
    const container = one(rendered.get('base')!, 'Deployment').spec.template.spec.containers[0];
    expect(container.startupProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(container.ports).toContainEqual({ name: 'http', containerPort: 3000, protocol: 'TCP' });
    // The image's own port and HEALTHCHECK path agree.
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^EXPOSE 3000$/m);
    expect(dockerfile).toContain("+ '/health')");
  });

  it.each(DIRS)('the_grace_period_of_%s_outlasts_the_pre_stop_pause_plus_SHUTDOWN_TIMEOUT_MS', (dir) => {
    const docs = rendered.get(dir)!;
    const pod = one(docs, 'Deployment').spec.template.spec;
    const config = ofKind(docs, 'ConfigMap').find((c) => c.metadata.name.startsWith('nest-m2m-config'))!;
    const shutdownSeconds = Number(config.data.SHUTDOWN_TIMEOUT_MS) / 1000;
    const preStopSeconds = Number(pod.containers[0].lifecycle?.preStop?.sleep?.seconds ?? 0);
    expect(shutdownSeconds).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds + shutdownSeconds);
    // The ConfigMap the pods read is the generated one (its hashed name).
    expect(pod.containers[0].envFrom).toContainEqual({ configMapRef: { name: config.metadata.name } });
  });

  it.each(DIRS)('no_secret_is_in_a_configmap_of_%s', (dir) => {
    for (const config of ofKind(rendered.get(dir)!, 'ConfigMap')) {
      for (const [key, value] of Object.entries<string>(config.data ?? {})) {
        expect(key, `${config.metadata.name}: ${key}`).not.toMatch(/SECRET|PASSWORD|PRIVATE_KEY|ENCRYPTION_KEY|CREDENTIAL/i);
        // No user:password@ in a URL.
        expect(value, `${config.metadata.name}: ${key}`).not.toMatch(/:\/\/[^/@\s]*:[^/@\s]*@/);
      }
    }
    // The credentials come from the Secret the operator creates, read after the ConfigMap.
    const envFrom = one(rendered.get(dir)!, 'Deployment').spec.template.spec.containers[0].envFrom;
    expect(envFrom.at(-1)).toEqual({ secretRef: { name: 'nest-m2m-secrets', optional: true } });
    expect(ofKind(rendered.get(dir)!, 'Secret')).toHaveLength(0);
  });

  it('rolling_updates_and_disruptions_take_one_pod_at_a_time_and_the_autoscaler_keeps_three', () => {
    const docs = rendered.get('base')!;
    const deployment = one(docs, 'Deployment');
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    const pdb = one(docs, 'PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    const hpa = one(docs, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'nest-m2m' });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(3);
    expect(one(docs, 'Service').spec.selector).toEqual(labels);
  });

  it('the_network_policy_admits_http_in_and_only_dns_https_and_redis_out', () => {
    const base = one(rendered.get('base')!, 'NetworkPolicy');
    expect(base.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(base.spec.podSelector.matchLabels).toEqual(one(rendered.get('base')!, 'Deployment').spec.template.metadata.labels);
    expect(base.spec.ingress.flatMap((r: Manifest) => r.ports)).toEqual([{ port: 'http', protocol: 'TCP' }]);
    const egressPorts = (np: Manifest) => np.spec.egress.flatMap((r: Manifest) => r.ports.map((p: Manifest) => p.port)).sort();
    expect(egressPorts(base)).toEqual([443, 53, 53]);
    const redis = rendered.get('overlays/redis')!;
    expect(egressPorts(one(redis, 'NetworkPolicy'))).toEqual([443, 53, 53, 6379]);
    const redisPolicy = one(redis, 'NetworkPolicy', 'nest-m2m-redis');
    expect(redisPolicy.spec.egress).toEqual([]);
    expect(redisPolicy.spec.ingress[0].from).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nest-m2m' } } }]);
  });

  it('the_redis_overlay_points_the_token_cache_at_its_redis_and_the_examples_set_an_issuer', () => {
    const cacheUrl = (dir: string) =>
      ofKind(rendered.get(dir)!, 'ConfigMap').find((c) => c.metadata.name.startsWith('nest-m2m-config'))!.data;
    expect(cacheUrl('base').TOKEN_CACHE_URL).toBeUndefined();
    expect(cacheUrl('overlays/redis').TOKEN_CACHE_URL).toBe('redis://nest-m2m-redis:6379');
    expect(one(rendered.get('overlays/redis')!, 'Service', 'nest-m2m-redis').spec.ports[0].port).toBe(6379);
    expect(cacheUrl('examples/auth0')).toMatchObject({ AUTH0_DOMAIN: 'acme.us.auth0.com', AUTH0_AUDIENCE: expect.any(String) });
    expect(cacheUrl('examples/standards-issuer')).toMatchObject({
      AUTH_ISSUER_URL: expect.stringMatching(/^https:\/\//),
      AUTH0_AUDIENCE: expect.any(String),
    });
    for (const dir of DIRS) expect(cacheUrl(dir).NODE_ENV).toBe('production');
  });
});

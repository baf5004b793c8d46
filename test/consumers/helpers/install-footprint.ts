/** One entry of package-lock.json's `packages`, keyed by its path (`node_modules/a/node_modules/b`). */
interface LockEntry {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export interface PackageLock {
  packages: Record<string, LockEntry>;
}

export interface Contributor {
  name: string;
  /** Installed packages reachable through it (itself included) that no peer's tree holds. */
  beyondPeers: number;
  /** Of those, the ones no other dependency reaches either: what dropping it would save. */
  onlyThroughIt: number;
}

export interface Footprint {
  /** Installed packages, the root project excluded. */
  total: number;
  /** The auto-installed peers and their trees: what a Nest app using passport and axios already has. */
  peerTrees: number;
  /** Packages that only the package's own dependencies bring. */
  ownDependenciesOnly: number;
  /** Its dependencies, biggest first. */
  contributors: Contributor[];
}

/** Where Node would find `name` when required from the package at `from` ('' is the root). */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent < 0 ? '' : base.slice(0, parent);
  }
}

function reachable(packages: Record<string, LockEntry>, start: string): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const entry = packages[path];
    if (entry === undefined) throw new Error(`${path} is not in the package-lock.json`);
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) {
      const target = resolveIn(packages, path, name);
      if (target) queue.push(target);
    }
  }
  return seen;
}

/** What installing `packageName` alone brought in, and which of its dependencies brought what. */
export function installFootprint(lock: PackageLock, packageName: string): Footprint {
  const packages = lock.packages;
  const self = `node_modules/${packageName}`;
  const entry = packages[self];
  if (!entry) throw new Error(`${packageName} is not in the lock file`);
  const treesOf = (names: string[]) =>
    new Map(
      names.flatMap((name) => {
        const path = resolveIn(packages, self, name);
        return path ? [[name, reachable(packages, path)] as const] : [];
      }),
    );
  const union = (sets: Iterable<Set<string>>) => new Set([...sets].flatMap((set) => [...set]));
  const peers = union(treesOf(Object.keys(entry.peerDependencies ?? {})).values());
  const dependencies = treesOf(Object.keys(entry.dependencies ?? {}));
  const contributors = [...dependencies].map(([name, tree]) => {
    const beyondPeers = [...tree].filter((path) => !peers.has(path));
    const others = union([...dependencies].filter(([other]) => other !== name).map(([, t]) => t));
    return { name, beyondPeers: beyondPeers.length, onlyThroughIt: beyondPeers.filter((path) => !others.has(path)).length };
  });
  return {
    total: Object.keys(packages).filter((path) => path !== '').length,
    peerTrees: peers.size,
    ownDependenciesOnly: [...union(dependencies.values())].filter((path) => !peers.has(path)).length,
    contributors: contributors.sort((a, b) => b.beyondPeers - a.beyondPeers || a.name.localeCompare(b.name)),
  };
}

/**
 * Packages of an app that only `packageName` brings: reachable from it and from none of the app's
 * other dependencies (minus `ignore`, e.g. test-only packages).
 */
export function addedToApp(lock: PackageLock, packageName: string, ignore: string[] = []): number {
  const packages = lock.packages;
  const root = packages[''];
  if (root === undefined) throw new Error('The package-lock.json has no root package');
  const others = Object.keys({ ...root.dependencies, ...root.devDependencies }).filter(
    (name) => name !== packageName && !ignore.includes(name),
  );
  const theirs = new Set(others.flatMap((name) => [...reachable(packages, `node_modules/${name}`)]));
  return [...reachable(packages, `node_modules/${packageName}`)].filter((path) => !theirs.has(path)).length;
}

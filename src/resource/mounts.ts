// Which mounts are real file systems worth watching, from /proc/self/mountinfo
// (or /proc/mounts on kernels without it). Layout of mountinfo: proc(5).
import picomatch from 'picomatch';
import { ParseError } from '../core/errors.js';

/** One line of the mount table. @internal */
export interface MountEntry {
  readonly mount: string;
  readonly fsType: string;
  readonly device: string;
  /** `major:minor`, or '' when read from /proc/mounts. */
  readonly devId: string;
  /** The root of the mount within its file system ('/' unless it is a bind mount). */
  readonly root: string;
  /** Per-superblock options (mountinfo only), e.g. `rw,user_id=1000,group_id=1000`. */
  readonly superOptions?: string;
}

/**
 * File system types that hold no user data or are always full by design: kernel
 * interfaces, memory-backed scratch space, read-only images, automounter triggers.
 * Listed so a default monitor alerts on disks, not on /proc or a snap's squashfs.
 */
export const PSEUDO_FS_TYPES: ReadonlySet<string> = new Set([
  'proc',
  'sysfs',
  'tmpfs',
  'devtmpfs',
  'devpts',
  'ramfs',
  'cgroup',
  'cgroup2',
  'securityfs',
  'pstore',
  'bpf',
  'debugfs',
  'tracefs',
  'configfs',
  'fusectl',
  'mqueue',
  'hugetlbfs',
  'autofs',
  'nsfs',
  'binfmt_misc',
  'rpc_pipefs',
  'efivarfs',
  'selinuxfs',
  'squashfs',
  'iso9660',
  'udf',
  'fuse.lxcfs',
  'fuse.gvfsd-fuse',
  'fuse.portal',
  'fuse.snapfuse',
  'nfsd',
  'overlay',
  'aufs',
  'shm',
  'none',
]);

/**
 * Network file systems: `statfs` on a hung server blocks a libuv worker thread for
 * minutes, starving the host service's own file I/O, so they are opt-in.
 */
export const NETWORK_FS_TYPES: ReadonlySet<string> = new Set([
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  'smbfs',
  'ceph',
  'glusterfs',
  'fuse.glusterfs',
  'fuse.sshfs',
  'fuse.s3fs',
  '9p',
  'afs',
  'lustre',
  'fuse.cephfs',
]);

// Mount points in mountinfo escape space, tab, newline and backslash as octal.
function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/<pid>/mountinfo. @internal */
export function parseMountinfo(text: string, source = '/proc/self/mountinfo'): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const sep = line.indexOf(' - ');
    const left = line.slice(0, sep === -1 ? undefined : sep).split(' ');
    const right = sep === -1 ? [] : line.slice(sep + 3).split(' ');
    const [, , devId, root, mount] = left;
    const [fsType, device, superOptions] = right;
    if (devId === undefined || root === undefined || mount === undefined || fsType === undefined) {
      throw new ParseError(`Malformed mount entry in ${source}: ${JSON.stringify(line.slice(0, 200))}`, { source });
    }
    entries.push({ mount: unescapeMount(mount), fsType, device: unescapeMount(device ?? ''), devId, root: unescapeMount(root), superOptions: superOptions ?? '' });
  }
  return entries;
}

/** Parses /proc/mounts (fstab format). @internal */
export function parseProcMounts(text: string, source = '/proc/mounts'): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [device, mount, fsType] = line.split(' ');
    if (device === undefined || mount === undefined || fsType === undefined) {
      throw new ParseError(`Malformed mount entry in ${source}: ${JSON.stringify(line.slice(0, 200))}`, { source });
    }
    entries.push({ mount: unescapeMount(mount), fsType, device: unescapeMount(device), devId: '', root: '/' });
  }
  return entries;
}

/** How the monitor chooses mounts (resolved from {@link MountFilterOptions}). @internal */
export interface MountSelector {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly excludeFsTypes: readonly string[];
  readonly network: boolean;
}

/**
 * The mounts to measure: real file systems only, each device once. When `include` is
 * given, exactly the mounts it names (even a tmpfs); `exclude` always wins. @internal
 */
export function selectMounts(entries: readonly MountEntry[], selector: MountSelector): MountEntry[] {
  const included = selector.include.length > 0 ? picomatch(selector.include as string[], { dot: true }) : undefined;
  const excluded = selector.exclude.length > 0 ? picomatch(selector.exclude as string[], { dot: true }) : undefined;
  const extraTypes = new Set(selector.excludeFsTypes);
  const byDevice = new Map<string, MountEntry>();
  const out: MountEntry[] = [];
  // Later entries over the same mount point hide earlier ones (over-mounts): keep the last.
  const lastAt = new Map<string, MountEntry>();
  for (const e of entries) lastAt.set(e.mount, e);
  for (const e of lastAt.values()) {
    if (excluded?.(e.mount)) continue;
    if (included) {
      if (included(e.mount)) out.push(e);
      continue;
    }
    if (extraTypes.has(e.fsType)) continue;
    // An overlay at / is a container's root and shows its writable layer's disk;
    // overlays elsewhere are other containers' merged views of the same disk.
    if (PSEUDO_FS_TYPES.has(e.fsType) && !(e.fsType === 'overlay' && e.mount === '/')) continue;
    if (NETWORK_FS_TYPES.has(e.fsType) && !selector.network) continue;
    if (isUserFuse(e)) continue;
    // Bind mounts (and the same device mounted twice) report the same numbers: keep one,
    // the mount of the file system's root, or else the shortest path.
    const id = e.devId !== '' && e.devId !== '0:0' ? e.devId : `${e.device}\0${e.fsType}`;
    const seen = byDevice.get(id);
    if (seen === undefined) {
      byDevice.set(id, e);
    } else if (better(e, seen)) {
      byDevice.set(id, e);
    }
  }
  if (included) return out;
  return [...byDevice.values()].sort((a, b) => a.mount.localeCompare(b.mount));
}

/**
 * A FUSE file system mounted by an unprivileged user (`user_id=` other than 0): its daemon is
 * that user's process, which can answer `statfs` with any numbers, or never, tying up a libuv
 * worker thread per mount. Measured only when `include` names it.
 */
function isUserFuse(e: MountEntry): boolean {
  if (e.fsType !== 'fuse' && e.fsType !== 'fuseblk' && !e.fsType.startsWith('fuse.')) return false;
  const m = /(?:^|,)user_id=(\d+)(?:,|$)/.exec(e.superOptions ?? '');
  return m !== null && m[1] !== '0';
}

function better(candidate: MountEntry, current: MountEntry): boolean {
  const cRoot = candidate.root === '/';
  const sRoot = current.root === '/';
  if (cRoot !== sRoot) return cRoot;
  return candidate.mount.length < current.mount.length;
}

/**
 * Firmware, software and configuration repository entries (admin only): a name, a version (a
 * configuration's is optional), a type for software and configuration, and where the file is —
 * an inventory binary of this sim (`binaryId`, its download URL filled in) or any URL.
 */
export const REPOSITORY_KINDS = ["firmware", "software", "configuration"] as const;
export type RepositoryKind = (typeof REPOSITORY_KINDS)[number];

export interface RepositoryEntry {
  readonly id: string;
  readonly kind: RepositoryKind;
  readonly name: string;
  readonly version: string;
  /** Software type or configuration type ("" when none). */
  readonly type: string;
  /** The inventory binary it points at, when uploaded here. */
  readonly binaryId?: string;
  /** The URL a device downloads (for `binaryId`: the path on this sim, made absolute per request). */
  readonly url: string;
  readonly createdMs: number;
}

export class Repository {
  private readonly entries = new Map<string, RepositoryEntry>();

  add(entry: RepositoryEntry): void {
    this.entries.set(entry.id, entry);
  }

  list(kind: RepositoryKind): RepositoryEntry[] {
    return [...this.entries.values()].filter((e) => e.kind === kind);
  }

  get(kind: RepositoryKind, id: string): RepositoryEntry | undefined {
    const entry = this.entries.get(id);
    return entry?.kind === kind ? entry : undefined;
  }

  delete(kind: RepositoryKind, id: string): boolean {
    return this.get(kind, id) !== undefined && this.entries.delete(id);
  }
}

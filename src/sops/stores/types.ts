/** What every store gives the engine, and takes back to write. */
import type { PlainValue } from '../flatten.js';
import type { TreeMap } from '../tree.js';

/** A comment that looks like `ENC[…]`; it is verified against the first AAD that opens it. */
export interface EncryptedComment {
  text: string;
  /** Key-path AADs to try, most likely first (sops uses the path of the enclosing map). */
  aadCandidates: string[];
  line: number | null;
}

export interface ParsedFile {
  /** The document without its `sops` block; leaves are as stored (ENC[] text or cleartext). */
  document: TreeMap;
  comments: EncryptedComment[];
  /** The `sops` block as nested plain data, or null when there is none. */
  metadata: Record<string, PlainValue> | null;
}

export interface Store {
  /** Parses a (possibly encrypted) file; E_PARSE naming `displayName` and the line when known. */
  parse(text: string, displayName: string): ParsedFile;
  /** Writes an encrypted document with its metadata. */
  emitEncrypted(document: TreeMap, metadata: Record<string, PlainValue>): string;
  /** Writes a plain document, like `sops -d` prints it. */
  emitPlain(document: TreeMap): Uint8Array;
}

/** The store for each format. */
import type { SopsFormat } from '../format.js';
import { binaryStore } from './binary.js';
import { dotenvStore } from './dotenv.js';
import { iniStore } from './ini.js';
import { jsonStore } from './json.js';
import type { Store } from './types.js';
import { yamlStore } from './yaml.js';

export type { Store, ParsedFile, EncryptedComment } from './types.js';

export function storeFor(format: SopsFormat): Store {
  switch (format) {
    case 'yaml':
      return yamlStore;
    case 'json':
      return jsonStore;
    case 'dotenv':
      return dotenvStore;
    case 'ini':
      return iniStore;
    case 'binary':
      return binaryStore;
  }
}

// lmdb-js, with its native part chosen first (lmdb-native.ts). Every module of tollgate that
// opens an LMDB environment imports lmdb-js from here, never from 'lmdb' directly, so the
// choice is made before lmdb-js loads a binary.
import './lmdb-native.ts';

export type { Database, Key, RootDatabase } from 'lmdb';
export { open } from 'lmdb';
export { lmdbBuild, lmdbPatches } from './lmdb-native.ts';

import { readFileSync } from 'node:fs'

/**
 * The job wrapper genStatus.sh, kept as the shell script it is beside this file (its header says what it does;
 * `CALOPROD_SPHENIX_SETUP` replaces the setup script's path, for tests). condor writes it into condor/.
 */
export const wrapperScript = (): string => readFileSync(new URL('./genStatus.sh', import.meta.url), 'utf8')

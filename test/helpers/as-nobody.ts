// Runs a stage script as another user (nobody, no group, no supplementary groups), as a colleague without write
// access would: needs root to switch users (setpriv, util-linux).
import { spawn } from 'node:child_process'
import { collectOutput, stageArgs, type ScriptResult } from './run-script.js'

/** Whether this process may run others as nobody. */
export const canSwitchUser = process.getuid?.() === 0

/** Runs `tasks/<name>.ts` as the Taskfile does, as the user nobody, with `env` over this process's environment. */
export function runAsNobody(name: string, args: readonly string[], env: Record<string, string>): Promise<ScriptResult> {
  const child = spawn(
    'setpriv',
    ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, ...stageArgs(name, ...args)],
    { cwd: '/tmp', env: { ...process.env, HOME: '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  return collectOutput(child).done
}

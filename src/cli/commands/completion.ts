/**
 * `maint completion bash|zsh|fish`: a completion script generated from the command definitions
 * in main.ts, so new commands and flags are completed without editing this file. Runbook names
 * come at completion time from `maint list --names`: they change more often than the script.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** Commands whose argument is a runbook name. */
const RUNBOOK_COMMANDS = ['run', 'dr-test', 'plan', 'validate', 'history'];

interface Flag {
  long: string;
  short?: string;
  summary: string;
  /** Takes a value; `path` when that value is a file or folder. */
  value: 'none' | 'text' | 'path';
}

interface Sub {
  name: string;
  summary: string;
  flags: Flag[];
}

export function completionCommand(shell: string, program: Command): number {
  if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`unknown shell "${shell}": expected one of ${SHELLS.join(', ')}`);
  const subs = program.commands.map((c): Sub => ({ name: c.name(), summary: summary(c.description()), flags: [...c.options.filter((o) => !o.hidden).map(flagOf), HELP] }));
  process.stdout.write(SCRIPTS[shell as Shell](subs));
  return 0;
}

const HELP: Flag = { long: '--help', short: '-h', summary: 'show help', value: 'none' };
const TOP_FLAGS: Flag[] = [HELP, { long: '--version', short: '-V', summary: 'print the version', value: 'none' }];

function flagOf(o: Command['options'][number]): Flag {
  const value = !o.required && !o.optional ? 'none' : /<(file|dir)/.test(o.flags) ? 'path' : 'text';
  return { long: o.long!, ...(o.short ? { short: o.short } : {}), summary: summary(o.description), value };
}

/** The first clause of a description: completion menus are one short line per entry. */
function summary(text: string): string {
  return text.split(/ \(|; |: /)[0]!.trim();
}

/** A POSIX single-quoted word (bash, zsh). */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** A fish single-quoted word: fish escapes ' and \ inside single quotes. */
const fq = (s: string) => `'${s.replace(/[\\']/g, '\\$&')}'`;

/** `--a|--b`: a case pattern of the flags (of any command) that take this kind of value. */
const flagsTaking = (subs: Sub[], ...kinds: Flag['value'][]) =>
  [...new Set(subs.flatMap((s) => s.flags.filter((f) => kinds.includes(f.value)).map((f) => f.long)))].join('|');

const SCRIPTS: Record<Shell, (subs: Sub[]) => string> = {
  bash: (subs) => `# maint completion for bash. Load it with: source <(maint completion bash)
_maint() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd= i
  for ((i = 1; i < COMP_CWORD; i++)); do
    [[ \${COMP_WORDS[i]} != -* ]] && { cmd=\${COMP_WORDS[i]}; break; }
  done
  COMPREPLY=()
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W ${sq([...subs.map((s) => s.name), ...TOP_FLAGS.map((f) => f.long)].join(' '))} -- "$cur"))
    return
  fi
  # A flag's value: nothing to offer, so bash falls back to file names (complete -o default).
  case $prev in ${flagsTaking(subs, 'text', 'path')}) return ;; esac
  if [[ $cur == -* ]]; then
    local flags
    case $cmd in
${subs.map((s) => `      ${s.name}) flags=${sq(s.flags.map((f) => f.long).join(' '))} ;;`).join('\n')}
    esac
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  case $cmd in
    ${RUNBOOK_COMMANDS.join('|')}) COMPREPLY=($(compgen -W "$(maint list --names 2>/dev/null)" -- "$cur")) ;;
    completion) COMPREPLY=($(compgen -W ${sq(SHELLS.join(' '))} -- "$cur")) ;;
  esac
}
complete -o default -F _maint maint
`,

  zsh: (subs) => `#compdef maint
# maint completion for zsh. Save it as _maint in a folder on your fpath (before compinit),
# or, after compinit: source <(maint completion zsh)
_maint() {
  local -a subs flags
  subs=(
${subs.map((s) => `    ${sq(`${s.name}:${s.summary}`)}`).join('\n')}
  )
  local cmd= i
  for ((i = 2; i < CURRENT; i++)); do
    [[ \${words[i]} != -* ]] && { cmd=\${words[i]}; break; }
  done
  if [[ -z $cmd ]]; then
    if [[ $PREFIX == -* ]]; then compadd -- ${TOP_FLAGS.map((f) => f.long).join(' ')}; else _describe -t commands 'maint command' subs; fi
    return
  fi
  case \${words[CURRENT-1]} in
    ${flagsTaking(subs, 'path')}) _files; return ;;
    ${flagsTaking(subs, 'text')}) return ;;
  esac
  if [[ $PREFIX == -* ]]; then
    case $cmd in
${subs.map((s) => `      ${s.name}) flags=(${s.flags.map((f) => f.long).join(' ')}) ;;`).join('\n')}
    esac
    compadd -- $flags
    return
  fi
  case $cmd in
    ${RUNBOOK_COMMANDS.join('|')}) compadd -- \${(f)"$(maint list --names 2>/dev/null)"} ;;
    completion) compadd -- ${SHELLS.join(' ')} ;;
  esac
}
if [[ \${funcstack[1]} == _maint ]]; then _maint "$@"; else compdef _maint maint; fi
`,

  fish: (subs) => {
    const flag = (cond: string, f: Flag) =>
      `complete -c maint -n ${fq(cond)}${f.short ? ` -s ${f.short.slice(1)}` : ''} -l ${f.long.slice(2)}${f.value === 'path' ? ' -r -F' : f.value === 'text' ? ' -x' : ''} -d ${fq(f.summary)}`;
    return [
      '# maint completion for fish. Save it: maint completion fish > ~/.config/fish/completions/maint.fish',
      'complete -c maint -f',
      ...TOP_FLAGS.map((f) => flag('__fish_use_subcommand', f)),
      ...subs.map((s) => `complete -c maint -n __fish_use_subcommand -a ${s.name} -d ${fq(s.summary)}`),
      ...subs.flatMap((s) => s.flags.map((f) => flag(`__fish_seen_subcommand_from ${s.name}`, f))),
      `complete -c maint -n ${fq(`__fish_seen_subcommand_from ${RUNBOOK_COMMANDS.join(' ')}`)} -a '(maint list --names 2>/dev/null)'`,
      `complete -c maint -n '__fish_seen_subcommand_from completion' -a ${fq(SHELLS.join(' '))}`,
      '',
    ].join('\n');
  },
};

import { describe, expect, it } from 'vitest';
import { parseTemplate, shellContextErrors, type Template } from '../../../src/expr/template.js';

function tpl(source: string): Template {
  const { template, errors } = parseTemplate(source);
  if (!template) throw new Error(`template errors: ${JSON.stringify(errors)}`);
  return template;
}

const errorsOf = (source: string) => shellContextErrors(tpl(source));

describe('shellContextErrors: safe places', () => {
  const good = [
    'echo {{ vars.x }}',
    '--flag={{ vars.x }}',
    'a={{vars.x}}',
    'echo $( cat {{ vars.f }} )',
    'echo "$(cat {{ vars.f }})"',
    'echo "`date`" {{ vars.x }}',
    "echo 'single' {{ vars.x }} \"double $HOME\" {{ vars.y }}",
    "echo \\' {{ vars.x }} \\\" {{ vars.y }}",
    'echo a#b {{ vars.x }} $# {{ vars.y }}',
    '# a comment\necho {{ vars.x }}',
    'cat <<EOF\nbody $HOME\nEOF\necho {{ vars.x }}',
    'cat <<-EOF\n\tbody\n\tEOF\necho {{ vars.x }}',
    "cat <<'EOF' | grep x\n{ literal }\nEOF\nrm -f {{ vars.f }}",
    'cat <<< {{ vars.x }}',
    'echo $(( 1 + 2 )) {{ vars.x }}',
    '(( n = 1 )); echo {{ vars.x }}',
    'echo ${HOME:-{{ vars.x }}}',
    '( cd /tmp && ls {{ vars.x }} )',
    'if [[ {{ vars.x }} == ok ]]; then echo {{ vars.y }}; fi',
    'echo $(echo "$(ls {{ vars.x }})")',
    'echo a \\\n  {{ vars.x }}',
    'ls {{ vars.x }}>/dev/null 2>&1 # done',
  ];
  for (const source of good) {
    it(JSON.stringify(source), () => {
      expect(errorsOf(source)).toEqual([]);
    });
  }
});

describe('shellContextErrors: unsafe places', () => {
  const bad: [string, RegExp][] = [
    ["echo '{{ vars.x }}'", /^\{\{ vars\.x \}\} is inside single quotes; .* remove the quotes around it$/],
    ['echo "{{ vars.x }}"', /^\{\{ vars\.x \}\} is inside double quotes; maint quotes each value as one shell word — remove the quotes around it$/],
    ['echo "a ${HOME:-{{ vars.x }}}"', /inside double quotes/],
    ["echo $'{{ vars.x }}'", /inside \$'…' quotes/],
    ['echo `cat {{ vars.f }}`', /inside backticks; write \$\( … \) instead/],
    ['echo "`cat {{ vars.f }}`"', /inside backticks/],
    ['echo ok # note {{ vars.x }}', /inside a # comment/],
    ['#{{ vars.x }}\necho ok', /inside a # comment/],
    ['cat <<EOF\nhello {{ vars.x }}\nEOF', /inside a heredoc body, .*v=\{\{ vars\.x \}\}/],
    ['cat <<-EOF\n\t{{ vars.x }}\n\tEOF', /inside a heredoc body/],
    ["cat <<'EOF'\n{{ vars.x }}\nEOF", /inside a heredoc body/],
    ['cat <<"EOF" > f\n{{ vars.x }}\nEOF', /inside a heredoc body/],
    ['echo $(cat <<EOF\n{{ vars.x }}\nEOF\n)', /inside a heredoc body/],
    ['cat <<{{ vars.x }}\nbody\n', /heredoc delimiter/],
    ['echo $(( {{ vars.n }} + 1 ))', /inside arithmetic/],
    ['(( {{ vars.n }} > 1 )) && echo big', /inside arithmetic/],
    ['echo ${{ vars.x }}', /follows a \$/],
  ];
  for (const [source, message] of bad) {
    it(JSON.stringify(source), () => {
      const errors = errorsOf(source);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toMatch(message);
      expect(errors[0]?.offset).toBe(source.indexOf('vars.'));
    });
  }

  it('reports each bad expression and only those', () => {
    const source = "echo {{ vars.a }} '{{ vars.b }}' {{ vars.c }} \"{{ vars.d }}\" # {{ vars.e }}\ncat <<EOF\n{{ vars.f }}\nEOF\necho {{ vars.g }}";
    const errors = errorsOf(source);
    expect(errors.map((e) => source.slice(e.offset, e.offset + 6))).toEqual(['vars.b', 'vars.d', 'vars.e', 'vars.f']);
  });

  it('continues after a quoted part ends', () => {
    expect(errorsOf("echo 'it''s' {{ vars.x }} \"a\\\"b\" {{ vars.y }}")).toEqual([]);
    expect(errorsOf("echo 'a\\' {{ vars.x }}")).toHaveLength(0);
    expect(errorsOf('echo "a\\" {{ vars.x }}"')).toHaveLength(1);
  });
});

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_NAME_PATTERNS,
  REDACTED,
  compileArgsRedaction,
  type ArgsRedactor,
} from '../../modules/system/process/enrich/redact.js';
import { RecordingMetrics, stop, waitFor } from './hasher-fixtures.js';

function defaults(): ArgsRedactor {
  const c = compileArgsRedaction({ enabled: true });
  assert.ok(c.ok && c.redactor);
  return c.redactor;
}

function redact(args: string[], r = defaults()): string[] {
  return r.redactArgs(args).args;
}

describe('args redaction', () => {
  it('is off unless enabled', () => {
    for (const v of [undefined, {}, { enabled: false, patterns: ['x'] }]) {
      const c = compileArgsRedaction(v);
      assert.ok(c.ok);
      assert.equal(c.redactor, undefined);
    }
  });

  it('--password=secret keeps the flag and redacts the value', () => {
    assert.deepEqual(redact(['mysqldump', '--password=hunter2', '--db=x']), ['mysqldump', `--password=${REDACTED}`, '--db=x']);
    assert.deepEqual(redact(['app', '-password=hunter2']), ['app', `-password=${REDACTED}`]);
  });

  it('--password secret redacts the next argument', () => {
    assert.deepEqual(redact(['app', '--password', 'hunter2', 'file']), ['app', '--password', REDACTED, 'file']);
    assert.deepEqual(redact(['openssl', 'enc', '-pass', 'pass:hunter2']), ['openssl', 'enc', '-pass', REDACTED]);
  });

  it('-p secret needs a user pattern (the default list leaves -p alone: it is a port as often)', () => {
    assert.deepEqual(redact(['ssh', '-p', '2222', 'host']), ['ssh', '-p', '2222', 'host']);
    const c = compileArgsRedaction({ enabled: true, patterns: ['^p$', ...DEFAULT_NAME_PATTERNS] });
    assert.ok(c.ok && c.redactor);
    assert.deepEqual(redact(['mysql', '-u', 'root', '-p', 'hunter2'], c.redactor), ['mysql', '-u', 'root', '-p', REDACTED]);
  });

  it('environment-style NAME=value', () => {
    assert.deepEqual(redact(['env', 'PASSWORD=hunter2', 'PGPASSWORD=a', 'MYSQL_PWD=b', 'DB_TOKEN=c', 'PWD=/home/x', 'psql']), [
      'env',
      `PASSWORD=${REDACTED}`,
      `PGPASSWORD=${REDACTED}`,
      `MYSQL_PWD=${REDACTED}`,
      `DB_TOKEN=${REDACTED}`,
      'PWD=/home/x',
      'psql',
    ]);
    assert.deepEqual(redact(['helm', 'install', '--set', 'db.password=hunter2']), ['helm', 'install', '--set', `db.password=${REDACTED}`]);
  });

  it('URLs keep the user and lose the password', () => {
    assert.deepEqual(redact(['git', 'clone', 'https://alice:hunter2@git.example.com/r.git']), [
      'git',
      'clone',
      `https://alice:${REDACTED}@git.example.com/r.git`,
    ]);
    assert.deepEqual(redact(['redis-cli', '-u', 'redis://:hunter2@127.0.0.1:6379/0']), ['redis-cli', '-u', `redis://:${REDACTED}@127.0.0.1:6379/0`]);
    assert.deepEqual(redact(['curl', 'https://example.com/a:b@c']), ['curl', 'https://example.com/a:b@c'], 'not user info');
  });

  it('token, key and secret flags, and authorization headers', () => {
    const r = redact([
      'tool',
      '--token', 't1',
      '--api-key', 'k1',
      '--secret=s1',
      '--client-secret', 'c1',
      '--aws-secret-access-key', 'a1',
      '-H', 'Authorization: Bearer abc.def.ghi',
      '--header', 'X-API-Key: k2',
      '-H', 'Accept: application/json',
    ]);
    assert.deepEqual(r, [
      'tool',
      '--token', REDACTED,
      '--api-key', REDACTED,
      `--secret=${REDACTED}`,
      '--client-secret', REDACTED,
      '--aws-secret-access-key', REDACTED,
      '-H', `Authorization: Bearer ${REDACTED}`,
      '--header', `X-API-Key: ${REDACTED}`,
      '-H', 'Accept: application/json',
    ]);
  });

  it('leaves look-alike boolean flags and ordinary arguments alone', () => {
    const args = ['docker', 'login', '--password-stdin', 'registry.example.com', '--token-file', '/run/t', 'ls', '-la'];
    assert.deepEqual(redact(args), args);
  });

  it('known key formats anywhere in an argument', () => {
    assert.deepEqual(redact(['aws', 'configure', 'set', 'x', 'AKIAIOSFODNN7EXAMPLE']), ['aws', 'configure', 'set', 'x', REDACTED]);
    assert.deepEqual(redact(['sh', '-c', 'curl -H "Authorization: Bearer abcdefghijkl" x']), ['sh', '-c', `curl -H "Authorization: Bearer ${REDACTED}" x`]);
  });

  it('derives the command line from the redacted args, and redacts a bare command line', () => {
    const metrics = new RecordingMetrics();
    const c = compileArgsRedaction({ enabled: true }, { metrics });
    assert.ok(c.ok && c.redactor);
    const out = c.redactor.redactArgs(['mysql', '--password', 'hunter2', 'db']);
    assert.equal(out.commandLine, `mysql --password ${REDACTED} db`);
    assert.equal(out.redacted, 1);
    assert.equal(metrics.values.get('system.process.redaction.args_redacted'), 1);
    assert.equal(c.redactor.redactCommandLine('mysql  --password hunter2\tdb'), `mysql  --password ${REDACTED}\tdb`);
  });

  it('a user list replaces the default list', () => {
    const c = compileArgsRedaction({ enabled: true, patterns: ['^license$'] });
    assert.ok(c.ok && c.redactor);
    assert.deepEqual(redact(['x', '--license', 'L', '--password', 'p'], c.redactor), ['x', '--license', REDACTED, '--password', 'p']);
  });

  it('bad settings are refused with the key named', () => {
    const c = compileArgsRedaction({ enabled: 'yes', patterns: ['(unclosed', 7], value_patterns: 'x', extra: 1 });
    assert.equal(c.ok, false);
    assert.ok(!c.ok);
    assert.deepEqual(c.errors.map((e) => e.split(':')[0]), [
      'process.args_redaction.extra',
      'process.args_redaction.enabled',
      'process.args_redaction.patterns[0]',
      'process.args_redaction.patterns[1]',
      'process.args_redaction.value_patterns',
    ]);
    assert.match(c.errors[2] as string, /invalid regular expression '\(unclosed'/);
  });

  it('removes a password from the args of a real process', async () => {
    // argv as the kernel keeps it, read back from /proc like the procfs backend does.
    const child = spawn('sh', ['-c', 'sleep 30', 'sh', '--password', 'hunter2', '--token=abc123', 'https://u:pw9@h/'], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      const args = await waitFor('the child’s cmdline', () => {
        try {
          const a = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
          return a.includes('hunter2') ? a : undefined;
        } catch {
          return undefined;
        }
      });
      const out = defaults().redactArgs(args);
      for (const secret of ['hunter2', 'abc123', 'pw9']) {
        assert.ok(!out.args.some((a) => a.includes(secret)), `${secret} gone from args`);
        assert.ok(!out.commandLine.includes(secret), `${secret} gone from the command line`);
      }
      assert.deepEqual(out.args.slice(-4), ['--password', REDACTED, `--token=${REDACTED}`, `https://u:${REDACTED}@h/`]);
    } finally {
      await stop(child);
    }
  });
});

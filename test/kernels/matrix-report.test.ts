// The kernel matrix's verdict comes from two scripts: parse-results.sh reads what a
// VM (or the host run) printed, report.sh renders the table and decides the exit
// status. These tests feed them the streams a crash, a hang or a lying test
// program leaves, and check that none of them can read as a pass. Booting real
// kernels is `npm run test:kernels`' job, not this suite's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const lib = join(repo, 'kernel-matrix', 'lib');

interface Row {
  kernel: string;
  backend: string;
  test: string;
  status: string;
  reason: string;
}

interface Rendered {
  status: number | null;
  markdown: string;
}

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'procbeat-matrix-test-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parse(stream: string, backends = 'ebpf kprobe', label = 'k1'): Row[] {
  return withTmp((dir) => {
    const file = join(dir, 'results.log');
    writeFileSync(file, stream);
    const r = spawnSync('bash', [join(lib, 'parse-results.sh'), label, backends, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `parse-results.sh failed: ${r.stderr}`);
    return r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [kernel = '', backend = '', t = '', status = '', reason = ''] = l.split('\t');
        return { kernel, backend, test: t, status, reason };
      });
  });
}

function render(kernels: string[], rows: string[], backends = 'ebpf kprobe'): Rendered {
  return withTmp((dir) => {
    const k = join(dir, 'kernels.tsv');
    const r = join(dir, 'rows.tsv');
    writeFileSync(k, kernels.map((l) => l + '\n').join(''));
    writeFileSync(r, rows.map((l) => l + '\n').join(''));
    const p = spawnSync('bash', [join(lib, 'report.sh'), backends, k, r], { encoding: 'utf8' });
    return { status: p.status, markdown: p.stdout };
  });
}

function statusOf(rows: Row[], backend: string, name: string): string | undefined {
  return rows.find((r) => r.backend === backend && r.test === name)?.status;
}

const good = [
  '@@PROCBEAT-KERNEL 6.1.0-56-cloud-amd64',
  '@@PROCBEAT-BEGIN ebpf',
  'ok fork_exec_exit',
  'skip execveat: kernel too old',
  '1 passed, 0 failed, 1 skipped',
  '@@PROCBEAT-END ebpf rc=0',
  '@@PROCBEAT-BEGIN kprobe',
  'ok fork_exec_exit',
  'not ok argv_32k: truncated at 4096: expected 32768',
  '1 passed, 1 failed, 0 skipped',
  '@@PROCBEAT-END kprobe rc=1',
  '@@PROCBEAT-DONE',
  '',
].join('\r\n'); // a serial port turns \n into \r\n

test('a complete stream gives one row per case and no pseudo-test', () => {
  const rows = parse(good);
  assert.deepEqual(
    rows.map((r) => `${r.backend}/${r.test}=${r.status}`),
    ['ebpf/fork_exec_exit=pass', 'ebpf/execveat=skip', 'kprobe/fork_exec_exit=pass', 'kprobe/argv_32k=fail'],
  );
  assert.equal(rows.find((r) => r.test === 'execveat')?.reason, 'kernel too old');
  // the reason is everything after the first ": ", colons inside it included
  assert.equal(rows.find((r) => r.test === 'argv_32k')?.reason, 'truncated at 4096: expected 32768');
});

test('a backend that never started fails as "(run)"', () => {
  const stream = '@@PROCBEAT-BEGIN ebpf\nok a\n1 passed, 0 failed, 0 skipped\n@@PROCBEAT-END ebpf rc=0\n';
  const rows = parse(stream);
  assert.equal(statusOf(rows, 'ebpf', 'a'), 'pass');
  assert.equal(statusOf(rows, 'kprobe', '(run)'), 'fail');
});

test('an empty stream (the VM never reached /init) fails every backend', () => {
  const rows = parse('');
  assert.equal(statusOf(rows, 'ebpf', '(run)'), 'fail');
  assert.equal(statusOf(rows, 'kprobe', '(run)'), 'fail');
});

test('a hang or crash (no end marker) keeps the cases seen and fails "(run)"', () => {
  const rows = parse('@@PROCBEAT-BEGIN ebpf\nok a\nok b', 'ebpf');
  assert.equal(statusOf(rows, 'ebpf', 'a'), 'pass');
  assert.equal(statusOf(rows, 'ebpf', 'b'), 'pass');
  assert.match(rows.find((r) => r.test === '(run)')?.reason ?? '', /no end marker/);
});

test('a non-zero exit without a failed case fails "(exit)"', () => {
  const rows = parse('@@PROCBEAT-BEGIN ebpf\nok a\n1 passed, 0 failed, 0 skipped\n@@PROCBEAT-END ebpf rc=139\n', 'ebpf');
  assert.equal(statusOf(rows, 'ebpf', '(exit)'), 'fail');
  assert.match(rows.find((r) => r.test === '(exit)')?.reason ?? '', /status 139/);
});

test('a killed run says the in-VM timeout killed it', () => {
  const rows = parse('@@PROCBEAT-BEGIN ebpf\nok a\n@@PROCBEAT-END ebpf rc=143\n', 'ebpf');
  assert.match(rows.find((r) => r.test === '(exit)')?.reason ?? '', /in-VM timeout/);
  assert.equal(statusOf(rows, 'ebpf', '(summary)'), 'fail');
});

test('no test line at all fails "(no tests)"', () => {
  const rows = parse('@@PROCBEAT-BEGIN ebpf\n0 passed, 0 failed, 0 skipped\n@@PROCBEAT-END ebpf rc=0\n', 'ebpf');
  assert.equal(statusOf(rows, 'ebpf', '(no tests)'), 'fail');
});

test('a closing count that disagrees with the lines fails "(summary)"', () => {
  const rows = parse('@@PROCBEAT-BEGIN ebpf\nok a\nnot ok b: x\n2 passed, 0 failed, 0 skipped\n@@PROCBEAT-END ebpf rc=1\n', 'ebpf');
  assert.equal(statusOf(rows, 'ebpf', '(summary)'), 'fail');
  assert.match(rows.find((r) => r.test === '(summary)')?.reason ?? '', /2 passed, 0 failed, 0 skipped but the lines say 1, 1, 0/);
});

test('lines outside a backend\'s markers are not counted', () => {
  const rows = parse('ok stray\n@@PROCBEAT-BEGIN ebpf\nok a\n1 passed, 0 failed, 0 skipped\n@@PROCBEAT-END ebpf rc=0\nok late\n', 'ebpf');
  assert.deepEqual(rows.map((r) => r.test), ['a']);
});

const kernels = ['host 6.18\trunning kernel\t0.1', '6.1.0-56-cloud-amd64\tlinux-image-6.1.0-56-cloud-amd64 6.1.192-2\t4.2'];

test('report: all passing, host kprobe n/a with its reason, exit 0', () => {
  const out = render(kernels, [
    'host 6.18\tebpf\ta\tpass\t',
    'host 6.18\tkprobe\t*\tn/a\tno CONFIG_KPROBES',
    '6.1.0-56-cloud-amd64\tebpf\ta\tpass\t',
    '6.1.0-56-cloud-amd64\tkprobe\ta\tpass\t',
  ]);
  assert.equal(out.status, 0, out.markdown);
  assert.match(out.markdown, /^\| ebpf \| a \| pass \| pass \|$/m);
  assert.match(out.markdown, /^\| kprobe \| a \| n\/a \| pass \|$/m);
  assert.match(out.markdown, /host 6\.18\*\* · kprobe: not run — no CONFIG_KPROBES/);
});

test('report: a failing cell exits 1 and gives its reason', () => {
  const out = render(kernels, [
    'host 6.18\tebpf\ta\tpass\t',
    'host 6.18\tkprobe\t*\tn/a\tno CONFIG_KPROBES',
    '6.1.0-56-cloud-amd64\tebpf\ta\tfail\tring buffer missing',
    '6.1.0-56-cloud-amd64\tkprobe\ta\tpass\t',
  ]);
  assert.equal(out.status, 1);
  assert.match(out.markdown, /^\| ebpf \| a \| pass \| \*\*FAIL\*\* \|$/m);
  assert.match(out.markdown, /6\.1\.0-56-cloud-amd64\*\* · ebpf · FAIL \(a\) — ring buffer missing/);
});

test('report: a case one kernel ran and another did not report is MISSING and fails', () => {
  const out = render(kernels, [
    'host 6.18\tebpf\ta\tpass\t',
    'host 6.18\tebpf\tb\tpass\t',
    'host 6.18\tkprobe\t*\tn/a\tno CONFIG_KPROBES',
    '6.1.0-56-cloud-amd64\tebpf\ta\tpass\t',
    '6.1.0-56-cloud-amd64\tkprobe\ta\tpass\t',
  ]);
  assert.equal(out.status, 1);
  assert.match(out.markdown, /^\| ebpf \| b \| pass \| \*\*MISSING\*\* \|$/m);
});

test('report: skips pass the run but are listed with their reason', () => {
  const out = render(kernels, [
    'host 6.18\tebpf\ta\tskip\tneeds a newer kernel',
    'host 6.18\tkprobe\t*\tn/a\tno CONFIG_KPROBES',
    '6.1.0-56-cloud-amd64\tebpf\ta\tpass\t',
    '6.1.0-56-cloud-amd64\tkprobe\ta\tpass\t',
  ]);
  assert.equal(out.status, 0);
  assert.match(out.markdown, /host 6\.18\*\* · ebpf · skip \(a\) — needs a newer kernel/);
});

test('report: cases failing for one reason make one note, and pseudo-tests are not expected elsewhere', () => {
  const rows = ['host 6.18\tkprobe\t*\tn/a\tno CONFIG_KPROBES'];
  for (const t of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
    rows.push(`host 6.18\tebpf\t${t}\tpass\t`, `6.1.0-56-cloud-amd64\tebpf\t${t}\tfail\tqf_open: E2BIG`);
  }
  rows.push('6.1.0-56-cloud-amd64\tebpf\t(exit)\tfail\tstatus 1', '6.1.0-56-cloud-amd64\tkprobe\ta\tpass\t');
  const out = render(kernels, rows);
  assert.equal(out.status, 1);
  assert.match(out.markdown, /· ebpf · FAIL \(8 cases: a, b, c, d, e, f, … 2 more\) — qf_open: E2BIG/);
  assert.equal(out.markdown.split('qf_open: E2BIG').length - 1, 1, out.markdown);
  // the host ran ebpf fine: its "(exit)" cell is empty, not MISSING
  assert.match(out.markdown, /^\| ebpf \| \(exit\) \|  \| \*\*FAIL\*\* \|$/m);
});

test('report: one kernel\'s "(exit)" and "(summary)" rows count as nothing in the other kernels\' columns', () => {
  const k3 = [...kernels, '7.3.4+deb13-cloud-amd64\tlinux-image-7.3.4+deb13-cloud-amd64 7.3.4-1~bpo13+1\t9.9'];
  const rows = ['host 6.18\tkprobe\t*\tn/a\tno CONFIG_KPROBES'];
  for (const k of ['host 6.18', '6.1.0-56-cloud-amd64']) rows.push(`${k}\tebpf\ta\tpass\t`, `${k}\tebpf\tb\tskip\twhy`);
  rows.push('6.1.0-56-cloud-amd64\tkprobe\ta\tpass\t', '7.3.4+deb13-cloud-amd64\tkprobe\ta\tpass\t');
  rows.push(
    '7.3.4+deb13-cloud-amd64\tebpf\ta\tpass\t',
    '7.3.4+deb13-cloud-amd64\tebpf\t(exit)\tfail\tstatus 143 (killed by the in-VM timeout)',
    '7.3.4+deb13-cloud-amd64\tebpf\t(summary)\tfail\tno closing line',
  );
  const out = render(k3, rows);
  assert.equal(out.status, 1);
  // the kernels that ran every case cleanly: no MISSING in their summary cell
  assert.match(out.markdown, /^\| host 6\.18 \| running kernel \| 1 pass, 1 skip \| n\/a \| 0\.1 \|$/m);
  assert.match(out.markdown, /^\| 6\.1\.0-56-cloud-amd64 \| [^|]+ \| 1 pass, 1 skip \| 1 pass \| 4\.2 \|$/m);
  // the failing kernel: its own pseudo-tests fail, its unreported case b is MISSING
  assert.match(out.markdown, /^\| 7\.3\.4\+deb13-cloud-amd64 \| [^|]+ \| 1 pass, \*\*2 FAIL\*\*, \*\*1 MISSING\*\* \| 1 pass \| 9\.9 \|$/m);
});

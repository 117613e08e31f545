#!/usr/bin/env bash
# Turns one kernel's results stream (the VM's ttyS1, or the host run's stdout
# wrapped in the same markers) into rows: KERNEL TAB BACKEND TAB TEST TAB STATUS TAB REASON
# with STATUS one of pass, fail, skip.
#
# usage: parse-results.sh KERNEL_LABEL "BACKENDS" RESULTS_FILE [CONSOLE_LOG]
#
# A backend that never began, never ended, exited non-zero without a failed
# case, printed no case or no closing count (or a count that disagrees with its
# lines) gets a failing pseudo-test named "(run)", "(exit)", "(no tests)" or
# "(summary)", so a crash or a hang can never read as a pass.
set -euo pipefail

label=$1 backends=$2 results=$3 console=${4:-}
hint=""
if [ -n "$console" ]; then
	# A panic explains a missing end marker better than any guess.
	panic=$(grep -m1 -o 'Kernel panic.*' "$console" 2>/dev/null | tr -d '\r\t' || true)
	hint=" (${panic:+$panic; }see $console)"
fi
[ -f "$results" ] || : >"$results"

awk -v K="$label" -v EXPECT="$backends" -v HINT="$hint" '
function emit(b, t, s, r) { printf "%s\t%s\t%s\t%s\t%s\n", K, b, t, s, r }
{ sub(/\r$/, "") }
/^@@PROCBEAT-BEGIN / { b = $2; begun[b] = 1; inb = 1; next }
/^@@PROCBEAT-END / {
	ended[b] = 1; inb = 0
	rc[b] = $3; sub(/^rc=/, "", rc[b])
	next
}
/^@@PROCBEAT-/ { next }
!inb { next }
/^ok / {
	emit(b, substr($0, 4), "pass", ""); n[b]++; np[b]++; next
}
/^not ok / {
	rest = substr($0, 8); t = rest; r = ""
	i = index(rest, ": ")
	if (i > 0) { t = substr(rest, 1, i - 1); r = substr(rest, i + 2) }
	gsub(/\t/, " ", r)
	emit(b, t, "fail", r); n[b]++; nf[b]++; next
}
/^skip / {
	rest = substr($0, 6); t = rest; r = ""
	i = index(rest, ": ")
	if (i > 0) { t = substr(rest, 1, i - 1); r = substr(rest, i + 2) }
	gsub(/\t/, " ", r)
	emit(b, t, "skip", r); n[b]++; ns[b]++; next
}
/^([a-z]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/ {
	line = $0; sub(/^[a-z]+: /, "", line)
	split(line, w, /[ ,]+/)
	sp[b] = w[1] + 0; sf[b] = w[3] + 0; ss[b] = (w[5] == "" ? 0 : w[5] + 0)
	summary[b] = 1
	next
}
END {
	nb = split(EXPECT, want, " ")
	for (i = 1; i <= nb; i++) {
		b = want[i]
		if (!(b in begun)) {
			emit(b, "(run)", "fail", "backend never started: the VM did not boot to /init or died first" HINT)
			continue
		}
		if (!(b in ended)) {
			emit(b, "(run)", "fail", "no end marker: the test program hung past the boot timeout or the VM crashed" HINT)
			continue
		}
		if (n[b] + 0 == 0)
			emit(b, "(no tests)", "fail", "the test program printed no test line (exit status " rc[b] ")" HINT)
		if (rc[b] != "0" && nf[b] + 0 == 0)
			emit(b, "(exit)", "fail", "the test program exited with status " rc[b] " without a failed case" (rc[b] == "143" ? " (killed by the in-VM timeout)" : "") HINT)
		if (!(b in summary))
			emit(b, "(summary)", "fail", "no closing \"N passed, N failed, N skipped\" line" HINT)
		else if (sp[b] != np[b] + 0 || sf[b] != nf[b] + 0 || ss[b] != ns[b] + 0)
			emit(b, "(summary)", "fail", sprintf("closing line says %d passed, %d failed, %d skipped but the lines say %d, %d, %d", sp[b], sf[b], ss[b], np[b], nf[b], ns[b]))
	}
}' "$results"

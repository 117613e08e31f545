#!/usr/bin/env bash
# Renders the matrix as markdown from the parsed rows. Exits 1 when any cell
# failed or a test that one kernel ran is missing on another that ran the same
# backend (a case that silently vanished is a failure, not a pass).
#
# usage: report.sh "BACKENDS" KERNELS_FILE ROWS_FILE
#   KERNELS_FILE: one line per column, in order: LABEL TAB PACKAGE TAB SECONDS
#   ROWS_FILE:    KERNEL TAB BACKEND TAB TEST TAB STATUS TAB REASON, where STATUS is
#                 pass, fail, skip, or n/a with TEST "*" (the backend cannot run there)
set -euo pipefail

backends=$1 kernels=$2 rows=$3

awk -F '\t' -v BACKENDS="$backends" '
function worse(a, b) {
	# fail beats skip beats pass: a case reported twice keeps its worst outcome
	if (a == "fail" || b == "fail") return "fail"
	if (a == "skip" || b == "skip") return "skip"
	return "pass"
}
function cell(s) {
	if (s == "pass") return "pass"
	if (s == "fail") return "**FAIL**"
	if (s == "skip") return "skip"
	if (s == "missing") return "**MISSING**"
	return s
}
FNR == 1 { file++ }
file == 1 {
	nk++; klabel[nk] = $1; kpkg[nk] = $2; ksec[nk] = $3
	next
}
{
	k = $1; b = $2; t = $3; s = $4; r = $5
	if (s == "n/a") { na[k, b] = r; next }
	ran[k, b] = 1
	if (!((b, t) in seen)) { seen[b, t] = 1; order[b, ++nt[b]] = t }
	key = k SUBSEP b SUBSEP t
	st[key] = (key in st) ? worse(st[key], s) : s
	if (r != "") why[key] = r
}
END {
	nb = split(BACKENDS, bl, " ")
	failures = 0

	print "| kernel | package | " join_backends(bl, nb) " | time (s) |"
	line = "|---|---|"; for (i = 1; i <= nb; i++) line = line "---|"; print line "---:|"
	for (j = 1; j <= nk; j++) {
		k = klabel[j]; line = "| " k " | " kpkg[j] " |"
		for (i = 1; i <= nb; i++) {
			b = bl[i]
			if ((k, b) in na) { line = line " n/a |"; continue }
			p = f = s = m = 0
			for (x = 1; x <= nt[b]; x++) {
				key = k SUBSEP b SUBSEP order[b, x]
				# "(run)", "(exit)"... exist only where something went wrong: a
				# pseudo-test of another kernel is not a case this one lost
				if (!(key in st)) { if (substr(order[b, x], 1, 1) != "(") m++ }
				else if (st[key] == "pass") p++
				else if (st[key] == "fail") f++
				else s++
			}
			c = p " pass"
			if (f) c = c ", **" f " FAIL**"
			if (m) c = c ", **" m " MISSING**"
			if (s) c = c ", " s " skip"
			line = line " " c " |"
		}
		print line " " ksec[j] " |"
	}

	print ""
	line = "| backend | test |"; sep = "|---|---|"
	for (j = 1; j <= nk; j++) { line = line " " klabel[j] " |"; sep = sep "---|" }
	print line; print sep
	for (i = 1; i <= nb; i++) {
		b = bl[i]
		# real cases first, then the "(run)", "(exit)"... pseudo-tests
		n = 0
		for (x = 1; x <= nt[b]; x++) if (substr(order[b, x], 1, 1) != "(") rowt[++n] = order[b, x]
		for (x = 1; x <= nt[b]; x++) if (substr(order[b, x], 1, 1) == "(") rowt[++n] = order[b, x]
		for (x = 1; x <= n; x++) {
			t = rowt[x]; line = "| " b " | " t " |"
			for (j = 1; j <= nk; j++) {
				k = klabel[j]; key = k SUBSEP b SUBSEP t
				if ((k, b) in na) c = "n/a"
				else if (!((k, b) in ran) || !(key in st)) {
					# "(run)", "(exit)"... exist only where something went wrong
					if (substr(t, 1, 1) == "(") c = ""
					else { c = "missing"; failures++; note(k, b, "MISSING", "another kernel ran these cases, this one did not report them", t) }
				} else {
					c = st[key]
					if (c == "fail") failures++
					if (c != "pass") note(k, b, (c == "fail" ? "FAIL" : c), (key in why ? why[key] : ""), t)
				}
				line = line " " cell(c) " |"
			}
			print line
		}
	}
	for (j = 1; j <= nk; j++)
		for (i = 1; i <= nb; i++)
			if ((klabel[j], bl[i]) in na)
				notes[++nn] = "- **" klabel[j] "** · " bl[i] ": not run — " na[klabel[j], bl[i]]
	if (nn) {
		print ""
		print "Notes:"
		print ""
		for (x = 1; x <= nn; x++) {
			if (x in ntests) {
				split(notes[x], parts, SUBSEP)
				list = ncount[x] == 1 ? tests1[x] : ncount[x] " cases: " tests1[x] (ncount[x] > 6 ? ", … " (ncount[x] - 6) " more" : "")
				list = (ncount[x] == 1 && substr(list, 1, 1) == "(") ? " " list : " (" list ")"
				print "- **" parts[1] "** · " parts[2] " · " parts[3] list (parts[4] != "" ? " — " parts[4] : "")
			} else print notes[x]
		}
	}
	print ""
	print "Result: " (failures ? failures " failing cell(s)" : "all cells pass or are skipped with a reason")
	exit failures ? 1 : 0
}
# Cases that share a kernel, backend, outcome and reason make one note, so a
# backend that could not start does not bury the table under identical lines.
function note(k, b, what, reason, t,    g, x) {
	g = k SUBSEP b SUBSEP what SUBSEP reason
	if (!(g in group)) { group[g] = ++nn; notes[nn] = g; ntests[nn] = 1 }
	x = group[g]
	ncount[x]++
	if (ncount[x] <= 6) tests1[x] = (ncount[x] == 1 ? t : tests1[x] ", " t)
}
function join_backends(a, n,    s, i) { s = a[1]; for (i = 2; i <= n; i++) s = s " | " a[i]; return s }
' "$kernels" "$rows"

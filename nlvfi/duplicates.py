"""Finding duplicated frames, their runs, and scene cuts in a sequence of adjacent differences.

Method: METHOD.md §4 step 1 (¶0230–0234): for adjacent frames, L(I_k, I_{k+1}) = Σ_x
‖I_k(x) − I_{k+1}(x)‖_1; if L ≤ T, frame k+1 is a duplicate. Here L is expressed **per pixel**:
the mean absolute difference (MAD) of the two RGB frames on the 0–255 scale (the sum divided
by H·W·3), so T does not depend on the resolution (the publication's T does).
Notebook: notebooks/10_video_repair.ipynb

``threshold="auto"`` (the default) picks the threshold from the clip's own differences, in a
way that is robust to compression noise (a re-encoded duplicate is not bit-identical: its MAD
is the codec's noise, 0.02–0.25 grey levels for H.264 at crf 16–28) and to clips with very
little motion (real differences of 0.2–0.5, where a fixed T such as 0.5 would take real
frames for duplicates):

1. the *local motion level* of pair i is the 75th percentile of the ``window`` (8) differences
   on its left, and of the 8 on its right; the smaller of the two is kept, so a pair beside a
   slow/fast boundary is compared with its own side (a side with fewer than 3 values, at
   the ends of the clip, is merged with the other);
2. pair i is a duplicate when its MAD is at most ``ratio`` (0.3) of that level — a duplicate is
   noise-sized where its neighbours show motion — or at most ``floor`` (0.02, bit-identical up
   to rounding), whatever the neighbours do;
   so the threshold of pair i is T_i = max(floor, ratio·(level_i + 0.01) − 0.01).
3. The report gives one threshold T when a single value separates the duplicates from the
   rest (the geometric midpoint of the gap; then "MAD ≤ T" is exactly the decision, as in the
   method), and the per-pair values always.

With the *peak difference* too (``peaks``; the tool measures it, :func:`peak_difference`: the
99th percentile over 16x16 blocks of each block's MAD), ``auto`` tells codec noise from slow
motion better. A re-encoded copy differs from its original by noise spread over the whole
frame; slow real motion is small on average but concentrated where something moves, so its
peak stands out even when its MAD is as low as the noise (a near-still clip at crf 23, four
injection patterns, x264 on 1, 2 and 4 threads: copies' MAD 0.00–0.21 and real 0.10–0.80
overlap widely; their peaks, 0.05–1.15 and 1.04–7.6, only at the edges).
Then pair i is a duplicate when its MAD is at most ``floor``, or when all of:

* its peak is at most ``AUTO_PEAK_RATIO`` (0.6) of the local level of the peaks and its MAD at
  most ``AUTO_MAD_RATIO_WITH_PEAKS`` (0.6) of the local level of the MADs (step 1, with the
  median of each side, ``AUTO_QUANTILE_WITH_PEAKS``, instead of the 75th percentile);
* its peak is at most ``NOISE_FACTOR`` (3) x the median peak of the pairs passing the first
  test + ``NOISE_MARGIN`` (1.5) grey levels: copies of one clip share one codec-noise level,
  and a real frame that passes the relative test (a slowing-down last frame, compared with one
  side only) has a peak far above it (measured in the lossy files of seeds 0-15 of the seven
  clips below, x264 on one thread: copies of the near-still clips passing the relative test up
  to 1.105 grey levels above 3 x the median, of tree up to 1.19 (and 2.2 - 3 x 0.10 = 1.93 in
  the example below: both tiny beside tree's motion); real frames passing it either below 1.0,
  near-copies that only the changed share tells, or 6.75 and more. The margin was 1.0: the
  held-out lawn's copy at 1.105, crf 16 seed 0, quiet by its share, was missed. Any margin from
  1.2 to 6.7 decides those 448 files, and the 384 of x264 on 2 and 4 threads, alike). In a
  losslessly coded file (``lossless``; the tool passes ``VideoInfo.lossless``) whose copies are bit-identical (the
  median MAD of the pairs passing the first test is 0) the margin is 0: without codec noise
  nothing excuses a difference. (Not "at most ``floor``": x264 at crf 18 leaves most copies of a
  near-still clip within 0.01 of bit-identical, median 0.0075, and a lossless re-encode of such
  a file still needs the margin.) There the ``floor`` is 0 too, and a pair whose peak or share
  is above 0 is a copy only when tiny beside real motion (the waiver below; not where no real
  pair is near: a screen recording's cursor moving, MAD 0.002-0.006, module doc "Spots"). Where
  a source coder refreshed only a few blocks, a real frame can be almost the one before: in a
  256x256 region of vtest's held-out lawn (frames 686-745, x 192-447) frame 34 differs by MAD
  0.045, peak 0.74, and with the margin it was taken for a copy in 5 of 8 injection patterns of
  the FFV1 file;
* with the *changed share* too (``shares``; the tool measures it, :func:`changed_share`: the
  percentage of pixels whose mean absolute difference over R, G and B is at least
  ``CHANGE_LEVEL``, 4 grey levels), its share is at most ``NOISE_FACTOR`` (3) x the median share
  of the pairs passing the first test + ``SHARE_MARGIN`` (0.1 percent; 0 for bit-identical
  copies of a lossless file, as above). Re-encoding moves a copy's pixels by a grey level or two;
  a real frame moves some by more, even one whose source coder refreshed only a few blocks. On
  vtest's held-out lawn (three 256x256 regions, frames 686-775; 8 injection patterns, x264 on 1,
  2 and 4 threads) at crf 16 and 18 the copies' share is 0.00 at the median and at most 0.085%,
  the real frames' 0.66-0.95% at the median; a real near-copy that MAD and peak let through
  (frame 37 of one crf-18 file: MAD 0.050, peak 0.85) changes 0.18%. At crf 23 the two overlap
  (copies up to 0.23%, real frames down to 0.02%).

With the share, a *quiet* pair, one whose share is at most ``QUIET_SHARE_RATIO`` (0.07) x the
local level of the shares (the median of each side, as above; only where that level is at least
``SHARE_MARGIN``, 0.1%: a smaller share is too few pixels to say anything), may have a MAD and a
peak up to ``QUIET_RATIO`` (0.8) x their local levels instead of 0.6. The 0.6 has to be strict
because half the real frames of vtest's lawn are near-copies whose MAD and peak are 0.15-0.5 of
the level; but x264 leaves some copies a peak of 0.6-0.72 x the level, and those were missed.
Measured with each pair's levels on the real pairs (four 256x256 near-still regions of vtest,
injection patterns 0-15, x264 on 1, 2 and 4 threads), crf 16 and 18: the copies' share is at
most 0.057 x the level in 95% of them (0.199 at most), the real frames' at least 0.089 (0.27-0.66
for 95% of them); at crf 23 they overlap (copies up to 0.74, real frames down to 0.006).

A noise test (the peak's or the share's) drops a pair only when that value is also more than
``AUTO_TINY_RATIO`` (0.1) x the local level of the same measure (the median of each side, as
above): a copy in a moving, textured clip can carry a peak or share several times the other
copies' and still be tiny beside the real motion. (tree at crf 18, frames 2-4 copying frame 1:
x264 left frame 4 a peak of 2.2, above the cap 3 x 0.11 + 1.5 of the other copies, where the real
pairs' peaks are 54-118.) In the other direction, a slowly starting clip (Megamind: real frame 5,
MAD 0.41, peak 3.0) passes the MAD, peak and peak-noise tests; its share, 1.3% against the
copies' 0.01%, is what tells.

This runs twice (``AUTO_PASSES_WITH_PEAKS``): the second pass measures the local levels on the
pairs the first did not take for copies (each side: the ``window`` nearest such pairs). Where
copies are dense, say two runs of three a few frames apart, most of a side's window is copies
and a level measured on all pairs is their noise, so a copy beside them is missed. A pair with
fewer than 3 such pairs on one side (near the ends of the clip) keeps the thresholds of the
levels of all pairs, copies and all: with one side to compare with, a slow real frame there
looks like a copy. Unless the pair is tiny beside that one side (MAD and peak at most
``AUTO_TINY_RATIO`` x its levels): a run of copies right after the clip's first real frame
leaves the run's last copy with one real pair on its left, and the level of all pairs there is
the copies' own noise (tree, frame 4 above: MAD 0.078 against a threshold of 0.02 and real
pairs of 11-26).

Dense copies: a clip whose frame rate was raised by repeating frames (10 frames/s stored at 20,
25 or 30 by ``ffmpeg -r``: every frame held 2, 2-3 or 3 times) has more copies than real frames,
so the median of a side is a copy's noise nearly everywhere, in the first pass and so in the
second. The first pass's levels therefore leave out the *evident* copies, pairs whose MAD and
peak are both at most ``SEED_RATIO`` (0.15) x the ``SEED_QUANTILE`` (90th percentile) of their
neighbours' (:func:`_evident_copies`; the smaller of the two sides, as above). Only the
levels leave them out: each pass decides every pair, the evident copies included, as before.
``benchmarks/detection_robustness.py --injection held2,held2.5,held3`` measures it
(results/detection_held.md: vtest, Megamind, tree and the two near-still regions, seeds 0-3, FFV1
and x264 crf 18 and 23 on one thread, 180 files): before, 69 files fell below the bar, 25 of the
72 H.264 files of the three moving clips among them (recall down to 0.25: 27 of the 36 copies of a
Megamind file held x3 at crf 18 missed); now 45 do, 4 of those 72 (Megamind, recall 0.93-0.94:
one or two copies missed each) and 41 of the 48 H.264 files of the near-still regions (44
before). The real frames taken are the same 2, in two near-still files at crf 23. The other
tables (results/detection_robustness*.md, results/detection_short_gop.md, re-run) decide every
file as before, but for one more copy found in one file of ``lawn-x192`` at crf 23 (seeds 8-15).
Replayed on the measurements of seeds 0-15 of the seven clips below (FFV1 and crf 16, 18, 23 on
1, 2 and 4 threads, 1120 files), and on 36 files made with ``ffmpeg -r`` itself (60 frames of
vtest's held-out part at 384x288, of Megamind, of tree and of the held-out lawn, at 10 frames/s,
stored at 20, 25 and 30 as FFV1 and as x264 crf 18 and 23; ad hoc), the quantile and the ratio
were chosen: any quantile of 0.8-1.0 with a ratio of 0.05-0.15 decides the 1120 files as no seed
does (but for one more copy found at 0.15), and takes no real frame in the 36; of those 36, 23
meet the bar without the seed, 32-33 with a ratio of 0.05, 34-35 with 0.1 and 35-36 with 0.15
(36 at the 90th percentile). The ratio was first 0.1 (as ``AUTO_TINY_RATIO``); on the
benchmark's 180 files that left 46 below the bar (Megamind held x3: 18 and 13 copies missed at
crf 18 and 23), and 0.15, already the best on the 36, brings those to 2 and 2, the same real
frames taken. More passes, until none changes, found 1 more
of the 36 and 1 more of the 1120 (at 0.1), but took a real frame in a near-still H.264 file with
an I-frame every 12 frames (results/detection_short_gop.md), so the passes stay two.

Measured with benchmarks/detection_robustness.py (results/detection_robustness.md): stuttered
held-out parts of the OpenCV clips (vtest, Megamind, tree, and a 256x256 near-still region of
vtest with real MAD 0.25–0.5), many injection patterns, FFV1 and H.264, each crf encoded with
x264 on 1, 2 and 4 threads: x264's output, and so a copy's noise, changes with its thread count.
The constants were chosen on injection patterns (seeds) 0–3 of every clip and 4–11 of the
near-still one, then checked on patterns not used to choose them (near-still 12–19, tree 4–11,
Megamind 4–7, full-size vtest 0–3; files with precision and recall both >= 0.95, before -> now;
before: one pass, ratios 0.7, margin 0.5):

* crf 16–20: vtest 24/24 -> 24/24, Megamind 18/24 -> 24/24, tree 47/48 -> 48/48, near-still
  38/48 -> 47/48;
* crf 23: vtest 12/12 -> 12/12, Megamind 9/12 -> 12/12, tree 19/24 -> 23/24, near-still
  9/24 -> 9/24. On the near-still clip at crf 23 the copies' noise is as large as the slowest
  motion in MAD and in peak, and no rule on these two numbers that we tried meets 0.95
  reliably there. Nor does the frame's coding type, which the decoder reports (a copy coded as a
  B-frame between its original's anchors might differ from a real frame there): in the four
  near-still regions, patterns 0-7, crf 23, x264 on 1, 2 and 4 threads, within each region and
  (previous, current) type pair that holds copies, the copies' largest MAD (0.13-0.24) is above
  the real frames' smallest (0.03-0.16).
  Nor two more signals, measured on the four near-still regions, patterns 0-7, x264 on one thread,
  crf 18 and 23 (ad hoc scripts, not committed): the compressed size of each frame (per coded type,
  copies' B-frames 12-406 bytes, real ones from 14; P-frames 94-2499, real from 29), and where a
  frame sits between its neighbours, the projection of f_k - f_{k-1} on f_{k+3} - f_{k-4} over that
  change's squared length, times the 7 frames it spans (0 for a copy, about 1 for steady motion):
  copies reach 0.30 at crf 18 and 0.72 at crf 23, and 203 and 494 of 1444 real frames are at or
  below that. The copy the main table misses (`still-heldout`, crf 18, frame 18) is at 0.24 and the
  real frame the tool takes in `lawn-x192` (crf 18, pattern 5, frame 34) at 0.13.
  Nor luma and chroma apart (the decoded Y'CbCr planes; four near-still regions, patterns 0-7, x264
  on one thread, crf 16, 18 and 23; ad hoc, not committed): a re-encoded copy carries more chroma
  change beside its luma change than a real frame does (chroma MAD over luma MAD, median: copies
  0.87 at crf 18 and 0.49 at crf 23, real frames 0.25), but a logistic model on the luma and chroma MADs, changed shares and changed 16x16
  blocks, each also over its local level, fitted on three regions and tested on the fourth, made
  fewer errors than this rule in 1 of the 12 (region, crf) cells (11 against 12), as many in 3,
  and more in 8 (at crf 23 on `still-heldout` 24 against 16).
  Nor a line drawn per file from its own changed shares (four near-still regions, patterns 0-15,
  x264 on 1, 2 and 4 threads, 192 files per crf; ad hoc): the widest gap above the copies found,
  two medians on the log share, or half the quietest real pair nearby; the best of them, the gap,
  met the bar in 192 / 190 / 50 files at crf 16 / 18 / 23 against this rule's 191 / 188 / 30, but
  took 57 real frames at crf 23 against 28 and still missed the main table's copy (README). The
  share itself is not what falls short up to crf 18: one threshold on it chosen knowing the copies
  separates every FFV1, crf 16 and crf 18 file of the seven clips; at crf 23 only 7-24 of 24 files
  of each near-still region (benchmarks/detection_robustness.py, "share-separable in hindsight").
  Nor how concentrated a pair's change is (its changed share over its MAD: re-encoding noise moves
  many pixels a little, motion few pixels much; four near-still regions, patterns 0-15, x264 on 1,
  2 and 4 threads, ad hoc): a pair that low also counted as quiet brought crf 18 from 188 to 189
  files meeting the bar at a ratio of 0.4 (percent per grey level; crf 23 30 -> 36 files, real frames
  taken 28 -> 35), and at 0.6 missed only one copy
  at crf 18 but took 7 real frames; the main table's copy is at 0.51, real near-copies from 0.50.
  Why these copies are out of reach of the decoded pixels: x264 never coded a copy as a P-frame
  after a P-frame (all 2712 copies of the 192 near-still files per crf: B after B 1319, P after
  B 1112, B after P 281; its frame types do not depend on the crf). A B-frame's skipped blocks are
  a blend of its two anchors, weighted by distance, so a copy coded as a B-frame differs from
  the B-frame before it by part of the anchors' real change, as a real frame does. The main
  table's missed copy is one: frames 16 (P), 17 (B), 18 (B, the copy), 19 (P); the zero-motion
  blends of 16 and 19 at 17 and 18 differ by MAD 0.19, and the two decoded frames by 0.149,
  correlated 0.49 with that blend's change block by block (the copies found: 0.03-0.16). Measured
  from that: the difference of a pair only where both frames carry residual against those
  zero-motion blends (16x16 blocks above 0.3 grey levels; ad hoc, not committed), which a copy
  coded in full should leave at quantisation noise. Copies reach 0.27 / 0.52 / 0.67 at crf 16 /
  18 / 23, and 7% / 22% / 38% of the real pairs are below that; over its local level, the main
  table's copy is at 0.38, real pairs from 0.16. Not kept.
* Exact duplicates (FFV1): 1.0 / 1.0 in every file. MAD alone (``peaks=None``) finds only
  0.25–0.67 of the near-still clip's re-encoded copies.

The benchmark's own run (seeds 0–7, FFV1 and crf 16, 18, 23 on 1, 2 and 4 threads, 400 files):
1.0 / 1.0 in every file but 9 of the near-still clip's 24 crf-23 files (worst precision 1.00,
recall 0.77) and some of the held-out near-still clip's lossy files. That clip (vtest's lawn,
frames 686–745; chosen after the constants above) is harder: the source's coder refreshed only
part of it every other frame, so half its real frames are almost copies (MAD 0.10–0.15 before
re-encoding). FFV1: 8 of 8 files meet the bar; crf 16: 22 of 24, crf 18: 23 of 24 (precision
1.00 in all 48, worst recall 0.92: single copies that x264 re-coded as much as a real near-copy
changes; without the changed share: 15 and 15 of 24, real frames taken; without quiet pairs:
22 and 21); crf 23: 1 of 24 (recall down to 0.46: the copies' noise, MAD up to 0.23, is above
0.6 of the near-copies' level).

The changed share, ``SHARE_MARGIN`` and ``AUTO_TINY_RATIO`` were chosen on seeds 0–7 of seven
clips (the five above, and two more 256x256 lawn regions of vtest's held-out part: frames
686–745, x 192–447, and frames 716–775, x 0–255), replaying the tool's measurements of the FFV1
and crf 16, 18, 23 files offline, then checked on seeds 8–15, not used to choose them (crf 16 /
18 / 23 files meeting the bar out of 24 each, MAD and peaks before -> with the share and the
tiny-ratio waivers): held-out lawn x 448–703 20/17/0 -> 24/22/0, x 192–447 9/12/0 -> 24/21/0,
x 0–255 22/23/0 -> 22/23/0; ``still`` 24/23/7 -> 24/23/6; Megamind 20/19/18 -> 24/24/24 (a slow
real start taken); tree 21/21/21 -> 24/24/24 (a copy at the start missed); FFV1 8/8 throughout.

The quiet pairs (``QUIET_SHARE_RATIO``, ``QUIET_RATIO``, and the 0.1% level) were added after the
ratio distributions above, which pooled seeds 0-15 of the four near-still regions; the values
were compared on seeds 0-7 (share ratios 0.05-0.1, MAD and peak ratios 0.7-1.0), and the
decisions of the same seven clips replayed on seeds 8-15 (files meeting the bar, before -> now):
crf 16 166/168 -> 168/168, crf 18 161/168 -> 167/168, crf 23 78/168 -> 82/168 (real frames taken
15 -> 16, one file of lawn x 0-255); seeds 0-7: 166 -> 166, 161 -> 165, 90 -> 92 (no real frame
newly taken). Over seeds 0-15 it only adds pairs, in near-still clips, all copies but that one
real frame; vtest, Megamind, tree and every FFV1 file (96, six clips) decide as before.

Intra-coded frames. A codec that starts a group of pictures every 12-15 frames (MPEG-2 as DVDs
and broadcast code it; H.264 from cameras, phones and streaming, which x264 makes with ``-g``)
codes a copy that lands on an I-frame, or right after one, with the intra frame's own noise. On
vtest re-encoded with MPEG-2 at quantiser 2 (an I-frame every 12), an I-frame copy differs from
the frame before by MAD 1.1-1.6, peak 3.1-3.3 and 4-6% of its pixels changing, the predicted
copy after an I-frame by 0.4-0.6, 1.9-2.3 and 1-2%; the other copies by 0.02-0.14, 0.3-1.0 and
under 0.04%. The noise caps above, set by those other copies, dropped nearly all of them: in
seven clips (the five below and two more lawn regions), patterns 0-7, MPEG-2 with and without
B-frames, 224 of the 245 copies beside an I-frame were missed, and 1463 of the 1487 others found.
The decoder says which frames are intra-coded (``intra``, ``nlvfi.videoio.is_intra``), so a pair
of one intra-coded and one predicted frame is also judged on its own: a copy when its peak is at
most ``MIXED_PEAK_RATIO`` (0.3) x the local level of the peaks and its MAD at most
``MIXED_MAD_RATIO`` (1.5) x that of the MADs (the second pass's levels), with at least 3 real pairs
on each side; with fewer on one side (the clip's first pair, its last few), only when its peak is
tiny beside the side it has (at most ``AUTO_TINY_RATIO``, 0.1, x the level, as for the one-sided
pairs above; before, such a pair was never taken, and 10 copies within 3 real pairs of the end were missed in 168 files of vtest,
Megamind and tree, MPEG-2 and 12-frame H.264 groups, patterns 0-15: vtest's frame 156, coded as an
I-frame, peak 0.05-0.11 x the level; 9 of them are found now, no real frame taken, and
results/detection_short_gop.md's vtest rows went from 3, 7 and 3 copies missed to 0, 5 and 0).
Intra noise is spread over the frame, motion concentrated: in vtest, Megamind and
tree the real pairs of that kind have peaks from 0.41 x the level up, the copies up to 0.34 but
for four of Megamind's slow stretches (0.45-1.05). Why one side is not enough at 0.3: every clip
starts with an I-frame, and Megamind's slow start (real frame 1, peak 0.29 x the level) was taken.
A codec whose every frame is intra-coded (FFV1, Motion JPEG, ProRes) has no such pair.
The ratio was chosen on the MPEG-2 files above, before the condition of real pairs on both sides
(0.3 took no real frame; 0.4 and 0.5 took 3 and 8 in Megamind), and checked, with it, on files not
used to choose it (ad hoc scripts; files meeting the bar, before -> now): MPEG-2 patterns 8-15, vtest 0 -> 8 and 0 -> 7 of 8 (without / with B-frames),
Megamind 5 -> 8 and 7 -> 7, tree 8 -> 8 twice; H.264 with an I-frame every 12 frames (patterns 0-7,
x264 on one thread), crf 18: vtest 0 -> 8, Megamind 0 -> 6, tree 8 -> 8; crf 23: 0 -> 7, 0 -> 2,
8 -> 8. No real frame was taken in any of them, and the x264 files of the robustness tables (one
I-frame, at the start) decide as before. In the near-still clips the intra noise is as large as
their motion, and this takes nothing there (MPEG-2 or short-GOP H.264: 0-3 of 8 files meet the
bar, as before). ``benchmarks/detection_robustness.py --encodings 18g12,23g12,mpeg2,mpeg2-dvd``
measures it (results/detection_short_gop.md).

Spots. A small thing that changes a lot, on a frame that otherwise stays still (a screen
recording's cursor or typed character, a far-away bird before a fixed camera), changes the
frame's MAD by less than ``floor`` (a 12x18 cursor moving 4 px on a 1280x720 desktop: MAD
0.006, a copy's x264 noise 0.002) and no more than 1% of its 16x16 blocks, so neither the
floor nor the peak (a 99th percentile) sees it: such a real frame was taken for a copy.
``benchmarks/detection_screen.py`` (results/detection_screen.md: 8 synthetic 1280x720 screen
recordings with a cursor, typing and a dragged window, FFV1 and x264 crf 18, 23 and 28) took 108,
91, 86 and 80 real frames for copies, and no file met the bar; with the spots (and no floor for
bit-identical copies, above) none is taken, every file meets it, and 1 copy is missed at crf 18
and 1 at 23 (of 265 each). A codec's noise never changes a block that much: the *spot* of a pair
(``spots``; the tool measures it, :func:`spot_difference`) is the largest ``SPOT_BLOCK`` x
``SPOT_BLOCK`` (8x8) block's MAD, and with ``auto`` a pair whose spot is at least
``SPOT_LEVEL`` (24 grey levels) is never a copy, whatever its MAD (the floor included) or its
peak. Copies' spots, measured on the detection benchmark's files (the seven clips below,
patterns 0-3, FFV1, x264 crf 16, 18 and 23 on one thread, the same with an I-frame every 12
frames, MPEG-2 with and without B-frames; and every frame held 2 or 3 times, patterns 0-1 of
five clips, FFV1, crf 18 and 23): at most 11.35 (vtest at crf 23 with an I-frame every 12,
copies coded as I-frames), under 7.6 in every other crf 16-23 file; at crf 28 and 30 (vtest,
Megamind, tree and the still region, patterns 0-1) at most 15.6 (vtest at crf 28); heavier compression
may reach 24, and such copies would be missed. Real frames' spots there:
vtest 96 and up, tree 61, Megamind 10, the near-still regions 1.7-3.8 (those stay the MAD's,
peak's and share's to tell). The cursor's spots are 46-61 and a typed character's 58 (crf 18
and 23; its copies 1.9-5.5). Only copies' decisions can change (a spot only takes pairs out), and
in none of the files above does a copy or a pair taken for one reach 24, so they decide as
before (checked: ``benchmarks/detection_robustness.py --clips still,still-heldout,lawn-x192,megamind
--encodings exact,18,23,23g12,mpeg2-dvd --seeds 0-3 --threads 1`` prints the same table before and
after).

Caution: where a clip is this still and this compressed, the report says so. Its
``copy_noise_ratio`` is the 90th percentile MAD of the pairs taken for copies over the median
MAD of the other pairs; above ``NOISY_COPIES_RATIO`` (0.25), ``Detection.caution`` warns that
some copies may be missed or real frames taken (the CLI prints it). Measured on the files above
(seeds 0-15 of the seven clips: crf 16, 18 and 23 on 1, 2 and 4 threads, and FFV1 of all but
vtest; 1104 files): at most 0.07 in every file of vtest, Megamind and tree, 0 in every FFV1
file; above 0.25 in 196 files, 155 of them below the bar (nearly all near-still crf 23 files are
above it, and 13 near-still crf 16-18 files, 1 below the bar); 155 of the 168 files below the bar
are above it (the other 13: 5 near-still crf 16-18 files that miss one copy, and 8 near-still
crf 23 files).

Runs: consecutive duplicate frames ``first .. last`` (copies of frame ``first − 1``). A run is
repaired only when it has a good frame before it and a distinct frame after it, no scene cut
between those two, and at most ``max_run`` frames (a longer freeze is a deliberate still);
otherwise it is reported and left. Scene cut: a pair whose MAD exceeds
max(``cut_threshold`` 30, ``cut_factor`` 6 × the median MAD of the non-duplicate pairs) — the
rule ``nlvfi.data.video`` uses to pick training triplets.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field

import numpy as np

AUTO_WINDOW = 8
AUTO_MIN_SIDE = 3  # a side of fewer pairs (at the ends of the clip) is too short to measure motion on
AUTO_QUANTILE = 0.75
AUTO_RATIO = 0.3
AUTO_FLOOR = 0.02
AUTO_QUANTILE_WITH_PEAKS = 0.5
AUTO_PEAK_RATIO = 0.6
AUTO_MAD_RATIO_WITH_PEAKS = 0.6
AUTO_PASSES_WITH_PEAKS = 2
SEED_QUANTILE = 0.9  # the first pass's levels leave out pairs tiny beside this quantile of their neighbours (module doc, "Dense copies")
SEED_RATIO = 0.15  # ... "tiny": MAD and peak at most this x that quantile
AUTO_TINY_RATIO = 0.1  # a pair at most this fraction of its real neighbours' level is tiny beside their motion
NOISE_FACTOR = 3.0  # a copy's peak is at most NOISE_FACTOR x the copies' median peak + NOISE_MARGIN
NOISE_MARGIN = 1.5  # grey levels above NOISE_FACTOR x the copies' median peak (module doc: near-still copies <= 1.105, real frames >= 6.75)
CHANGE_LEVEL = 4.0  # grey levels (mean over R, G, B): a pixel that changes this much has "changed"
SHARE_MARGIN = 0.1  # percent of the pixels: a copy's changed share is at most NOISE_FACTOR x the copies' median + this
QUIET_SHARE_RATIO = 0.07  # a pair whose changed share is at most this fraction of the real pairs' level is "quiet"
QUIET_RATIO = 0.8  # a quiet pair's MAD and peak may be this fraction of their local levels (AUTO_*_RATIO otherwise)
PEAK_BLOCK = 16
PEAK_QUANTILE = 99.0
_EPS = 0.01  # grey levels added before taking ratios, so that 0 / 0 is 1
DEFAULT_MAX_RUN = 8
NOISY_COPIES_RATIO = 0.25  # copies this loud beside the real motion (copy_noise_ratio): the detection is unreliable
MIXED_PEAK_RATIO = 0.3  # a pair of an intra-coded and a predicted frame: a copy when its peak is at most this x the peak level
MIXED_MAD_RATIO = 1.5  # ... and its MAD at most this x the MAD level (module doc, "Intra-coded frames")
SPOT_BLOCK = 8  # pixels: the blocks whose largest MAD is a pair's spot (spot_difference)
SPOT_LEVEL = 24.0  # grey levels: a pair whose spot is at least this is never a copy (module doc, "Spots")
CUT_THRESHOLD = 30.0
CUT_FACTOR = 6.0

RUN_STATUSES = {
    "repair": "repaired: interpolated between the frame before and the frame after",
    "start": "left: touches the first frame (an opening hold; nothing before it)",
    "end": "left: reaches the last frame (nothing after it to interpolate towards)",
    "cut": "left: a scene cut follows it (never interpolate across a cut)",
    "too_long": "left: longer than max_run (a deliberate freeze, not a stutter)",
}


def _absolute_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| of two (H, W, 3) uint8 frames, in uint8 without overflow (max - min)."""
    if a.shape != b.shape:
        raise ValueError(f"frames differ in shape: {a.shape} vs {b.shape}")
    difference = np.maximum(a, b)
    difference -= np.minimum(a, b)
    return difference


def _channel_sums(difference: np.ndarray) -> np.ndarray:
    """(H, W) uint16 |dR| + |dG| + |dB| of an (H, W, 3) uint8 absolute difference (3 x the pixel's MAD)."""
    sums = difference[..., 0].astype(np.uint16)
    sums += difference[..., 1]
    sums += difference[..., 2]
    return sums


def _mad_of(sums: np.ndarray) -> float:
    return float(sums.sum(dtype=np.uint64)) / (3 * sums.size)


def _peak_of(sums: np.ndarray, block: int = PEAK_BLOCK, quantile: float = PEAK_QUANTILE) -> float:
    height, width = sums.shape
    rows, cols = max(1, height // block), max(1, width // block)
    bh, bw = min(block, height), min(block, width)
    per_row = sums[: rows * bh, : cols * bw].reshape(rows * bh, cols, bw).sum(axis=2, dtype=np.uint32)  # (rows*bh, cols)
    blocks = per_row.reshape(rows, bh, cols).sum(axis=1) / (3.0 * bh * bw)  # (rows, cols) block MADs
    return float(np.percentile(blocks, quantile))


def _spot_of(sums: np.ndarray, block: int = SPOT_BLOCK) -> float:
    return _peak_of(sums, block, 100.0)


def _share_of(sums: np.ndarray, level: float = CHANGE_LEVEL) -> float:
    return 100.0 * float(np.count_nonzero(sums >= 3 * level)) / sums.size


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two (H, W, 3) uint8 RGB frames, on the 0-255 scale."""
    return _mad_of(_channel_sums(_absolute_difference(a, b)))


def peak_difference(a: np.ndarray, b: np.ndarray, block: int = PEAK_BLOCK, quantile: float = PEAK_QUANTILE) -> float:
    """The ``quantile`` (99th) percentile over ``block`` x ``block`` blocks of each block's MAD.

    (H, W, 3) uint8 RGB frames, 0-255 scale. Blocks tile the frame from the top-left; edge rows
    and columns that do not fill a block are left out (a frame smaller than a block is one block).
    """
    return _peak_of(_channel_sums(_absolute_difference(a, b)), block, quantile)


def changed_share(a: np.ndarray, b: np.ndarray, level: float = CHANGE_LEVEL) -> float:
    """Percentage of the pixels whose mean absolute difference over R, G and B is >= ``level``
    (4) grey levels. (H, W, 3) uint8 RGB frames, 0-255 scale."""
    return _share_of(_channel_sums(_absolute_difference(a, b)), level)


def spot_difference(a: np.ndarray, b: np.ndarray, block: int = SPOT_BLOCK) -> float:
    """The largest MAD of any ``block`` x ``block`` (8x8) block: how much the most changed
    small place changed (module doc, "Spots"). (H, W, 3) uint8 RGB frames, 0-255 scale; blocks
    tile the frame as in :func:`peak_difference`."""
    return _spot_of(_channel_sums(_absolute_difference(a, b)), block)


def pair_differences(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float]:
    """(:func:`mad`, :func:`peak_difference`, :func:`changed_share`, :func:`spot_difference`) of
    one pair, from one absolute difference."""
    sums = _channel_sums(_absolute_difference(a, b))  # (H, W)
    return _mad_of(sums), _peak_of(sums), _share_of(sums), _spot_of(sums)


def _local_levels(diffs: np.ndarray, window: int, quantile: float, keep: np.ndarray | None = None) -> np.ndarray:
    """(N-1,) motion level of each pair: min over sides of the side's quantile; NaN if no side.

    keep: (N-1,) bool, the pairs whose values measure motion (default all): each side takes the
    ``window`` nearest kept pairs.
    """
    diffs = np.asarray(diffs, dtype=np.float64)
    count = len(diffs)
    kept = np.arange(count) if keep is None else np.flatnonzero(keep)
    if count == 0 or len(kept) == 0:
        return np.full(count, np.nan)
    enough = min(AUTO_MIN_SIDE, window)  # a shorter side (at the ends of the clip) is merged
    pairs = np.arange(count)
    at = np.searchsorted(kept, pairs)  # (N-1,) kept[:at] are left of pair i
    after = at + (kept[np.minimum(at, len(kept) - 1)] == pairs)  # (N-1,) a kept pair is not its own neighbour
    steps = np.arange(window)
    left_at = at[:, None] - window + steps  # (N-1, window) positions in ``kept``
    right_at = after[:, None] + steps
    values = diffs[kept]
    left = np.where(left_at >= 0, values[np.clip(left_at, 0, len(kept) - 1)], np.nan)  # (N-1, window), NaN: none
    right = np.where(right_at < len(kept), values[np.clip(right_at, 0, len(kept) - 1)], np.nan)
    left_long = (left_at >= 0).sum(axis=1) >= enough  # (N-1,)
    right_long = (right_at < len(kept)).sum(axis=1) >= enough
    left_level, right_level = _row_quantiles(left, quantile), _row_quantiles(right, quantile)
    merged = _row_quantiles(np.concatenate((left, right), axis=1), quantile)
    return np.where(
        left_long & right_long, np.minimum(left_level, right_level),
        np.where(left_long, left_level, np.where(right_long, right_level, merged)),
    )  # fmt: skip


def _row_quantiles(rows: np.ndarray, quantile: float) -> np.ndarray:
    """(R,) the ``quantile`` of each row of ``rows`` (R, W) over its values that are not NaN (NaN
    for a row without any), as ``np.quantile`` gives it (linear, and numpy's own interpolation
    formula, so that the levels are the same to the last bit); ``np.nanquantile`` along an axis
    goes row by row in Python, slower than the loop it replaces."""
    ordered = np.sort(rows, axis=1)  # NaN last
    counts = (~np.isnan(rows)).sum(axis=1)  # (R,)
    position = quantile * np.maximum(counts - 1, 0)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(counts - 1, 0))
    fraction = position - below
    low = np.take_along_axis(ordered, below[:, None], axis=1)[:, 0]
    high = np.take_along_axis(ordered, above[:, None], axis=1)[:, 0]
    step = high - low
    levels = np.where(fraction >= 0.5, high - step * (1 - fraction), low + step * fraction)
    return np.where(counts > 0, levels, np.nan)


def _from_levels(levels: np.ndarray, ratio: float, floor: float = AUTO_FLOOR) -> np.ndarray:
    """Thresholds ratio * (level + eps) - eps, at least ``floor``; a pair without a level gets the floor."""
    thresholds = ratio * (levels + _EPS) - _EPS
    return np.maximum(np.where(np.isnan(thresholds), floor, thresholds), floor)


def auto_thresholds(
    diffs: np.ndarray,
    window: int = AUTO_WINDOW,
    quantile: float = AUTO_QUANTILE,
    ratio: float = AUTO_RATIO,
    floor: float = AUTO_FLOOR,
    keep: np.ndarray | None = None,
) -> np.ndarray:
    """(N-1,) threshold of every adjacent pair under the ``auto`` rule (module doc, steps 1-2);
    ``keep``: the pairs the local levels are measured on (default all)."""
    diffs = np.asarray(diffs, dtype=np.float64)
    return _from_levels(_local_levels(diffs, window, quantile, keep), ratio, floor)  # (N-1,)


def separating_threshold(diffs: np.ndarray, is_duplicate: np.ndarray) -> float | None:
    """One T with ``diffs <= T`` == ``is_duplicate``, the geometric midpoint of the gap; else None."""
    diffs = np.asarray(diffs, dtype=np.float64)
    is_duplicate = np.asarray(is_duplicate, dtype=bool)
    if not is_duplicate.any():
        return None
    low = float(diffs[is_duplicate].max())
    if is_duplicate.all():
        return low
    high = float(diffs[~is_duplicate].min())
    if high <= low:
        return None
    return float(np.sqrt((low + _EPS) * (high + _EPS)) - _EPS)


@dataclass
class Run:
    """Duplicate frames ``first .. last`` (inclusive), copies of frame ``first - 1``.

    ``status`` is a key of RUN_STATUSES; a repaired run is interpolated between frames
    ``first - 1`` and ``last + 1``.
    """

    first: int
    last: int
    status: str = "repair"

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def before(self) -> int:
        return self.first - 1

    @property
    def after(self) -> int:
        return self.last + 1

    def to_dict(self) -> dict:
        return {**asdict(self), "length": self.length, "between": [self.before, self.after], "why": RUN_STATUSES[self.status]}


@dataclass
class Detection:
    """Result of :func:`detect_duplicates` on a clip of ``frame_count`` frames.

    Attributes:
        diffs: (N-1,) MAD between frames i and i+1 (0-255 scale).
        thresholds: (N-1,) MAD threshold applied to each pair.
        peaks: (N-1,) peak differences (:func:`peak_difference`) when they were given, else None;
            ``peak_thresholds``: the per-pair peak threshold of ``auto`` with peaks, else None.
        shares: (N-1,) changed shares (:func:`changed_share`, percent) when they were given, else None.
        spots: (N-1,) spots (:func:`spot_difference`) when they were given, else None.
        threshold: one T reproducing the decision ("MAD <= T"), or None when none does.
        mode: "auto" or "fixed"; ``how``: a sentence on how the threshold was chosen.
        duplicates: sorted indices of duplicate frames (frame i+1 for a duplicate pair i).
        runs: the runs of consecutive duplicates with what is done to each.
        cuts: pair indices i with a scene cut between frames i and i+1; ``cut_level``: the MAD
            above which a pair is a cut.
    """

    frame_count: int
    diffs: np.ndarray
    thresholds: np.ndarray
    threshold: float | None
    mode: str
    how: str
    duplicates: list[int]
    runs: list[Run]
    cuts: list[int]
    cut_level: float
    max_run: int = DEFAULT_MAX_RUN
    settings: dict = field(default_factory=dict)
    peaks: np.ndarray | None = None
    peak_thresholds: np.ndarray | None = None
    shares: np.ndarray | None = None
    spots: np.ndarray | None = None

    @property
    def repairable(self) -> list[Run]:
        return [run for run in self.runs if run.status == "repair"]

    def outside_frames(self, run: Run) -> tuple[int | None, int | None]:
        """The real frames one step outside a run's pair, ``(before - 1, after + 1)``, each None
        when it is not in the clip, is a duplicate, or a cut separates it from the pair (the
        frames :mod:`nlvfi.flow_prior` measures motion on)."""

        def listed(value: int, values: list[int]) -> bool:  # both lists are sorted
            at = bisect.bisect_left(values, value)
            return at < len(values) and values[at] == value

        def usable(index: int, pair: int) -> bool:  # pair: the cut index between index and the run's frame
            return 0 <= index < self.frame_count and not listed(index, self.duplicates) and not listed(pair, self.cuts)

        before, after = run.before - 1, run.after + 1
        return (before if usable(before, before) else None), (after if usable(after, run.after) else None)

    @property
    def copy_noise_ratio(self) -> float | None:
        """:func:`copy_noise_ratio` of the pairs taken for copies."""
        return copy_noise_ratio(self.diffs, np.isin(np.arange(1, self.frame_count), self.duplicates))

    @property
    def caution(self) -> str | None:
        """A sentence for the user when the copies found are as loud as ``NOISY_COPIES_RATIO``
        (0.25) x the real motion or louder (module doc, "Caution"), else None."""
        return _caution(self.copy_noise_ratio)

    @property
    def frames_to_replace(self) -> list[int]:
        return [i for run in self.repairable for i in range(run.first, run.last + 1)]

    def to_dict(self) -> dict:
        return {
            "frame_count": self.frame_count,
            "threshold": {
                "mode": self.mode,
                "value": None if self.threshold is None else round(self.threshold, 4),
                "how": self.how,
                "per_pair_range": [round(float(self.thresholds.min()), 4), round(float(self.thresholds.max()), 4)]
                if len(self.thresholds)
                else None,
                "settings": self.settings,
            },
            "duplicates": self.duplicates,
            "runs": [run.to_dict() for run in self.runs],
            "runs_by_status": {s: sum(r.status == s for r in self.runs) for s in RUN_STATUSES},
            "cuts": [{"between": [i, i + 1], "mad": round(float(self.diffs[i]), 3)} for i in self.cuts],
            "cut_level": round(self.cut_level, 3),
            "max_run": self.max_run,
            "copy_noise_ratio": None if (ratio := self.copy_noise_ratio) is None else round(ratio, 4),
            "caution": _caution(ratio),
            "adjacent_mad": [round(float(d), 4) for d in self.diffs],
            "per_pair_threshold": [round(float(t), 4) for t in self.thresholds],
            "adjacent_peak": None if self.peaks is None else [round(float(p), 4) for p in self.peaks],
            "per_pair_peak_threshold": None
            if self.peak_thresholds is None
            else [round(float(t), 4) for t in self.peak_thresholds],
            "adjacent_changed_share": None if self.shares is None else [round(float(s), 4) for s in self.shares],
            "adjacent_spot": None if self.spots is None else [round(float(s), 3) for s in self.spots],
        }


def copy_noise_ratio(diffs: np.ndarray, is_duplicate: np.ndarray) -> float | None:
    """How loud the copies found are beside the clip's real motion: the 90th percentile MAD of
    the pairs taken for copies over the median MAD of the others (module doc, "Caution");
    None without both kinds of pair, or when the others' median is 0."""
    diffs, is_duplicate = np.asarray(diffs, dtype=np.float64), np.asarray(is_duplicate, dtype=bool)
    if not is_duplicate.any() or is_duplicate.all():
        return None
    motion = float(np.median(diffs[~is_duplicate]))
    return None if motion == 0 else float(np.quantile(diffs[is_duplicate], 0.9)) / motion


def _caution(ratio: float | None) -> str | None:
    """The caution sentence for a :func:`copy_noise_ratio` above NOISY_COPIES_RATIO, else None."""
    if ratio is None or ratio <= NOISY_COPIES_RATIO:
        return None
    return (
        f"the copies found differ by up to {ratio:.2f} x the clip's typical real change (MAD, 90th percentile "
        f"over the median of the other pairs): codec noise is about as large as the slowest real motion here, "
        f"so some copies may have been missed, or real frames taken; check adjacent_mad in the report, or "
        f"set --threshold"
    )


def find_runs(duplicates: list[int] | np.ndarray) -> list[tuple[int, int]]:
    """Group sorted frame indices into (first, last) runs of consecutive indices."""
    runs: list[tuple[int, int]] = []
    for index in sorted(int(i) for i in duplicates):
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def cut_level(diffs: np.ndarray, is_duplicate: np.ndarray, cut_threshold: float = CUT_THRESHOLD, cut_factor: float = CUT_FACTOR) -> float:
    """max(cut_threshold, cut_factor x median MAD of the non-duplicate pairs)."""
    real = np.asarray(diffs)[~np.asarray(is_duplicate, dtype=bool)]
    median = float(np.median(real)) if len(real) else 0.0
    return max(cut_threshold, cut_factor * median)


def _one_sided(keep: np.ndarray, window: int) -> np.ndarray:
    """(N-1,) bool: pairs with fewer than min(AUTO_MIN_SIDE, window) kept pairs on one side."""
    enough = min(AUTO_MIN_SIDE, window)
    kept = np.cumsum(keep)  # kept pairs at or left of i
    left = kept - keep
    right = kept[-1] - kept
    return (left < enough) | (right < enough)


def _auto_with_peaks(
    diffs: np.ndarray, peaks: np.ndarray, lossless: bool = False, shares: np.ndarray | None = None,
    spotted: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
    """(MAD thresholds, peak thresholds, is_duplicate, noise margin used, passes run), the first three (N-1,),
    of ``auto`` with peaks (module doc): up to ``AUTO_PASSES_WITH_PEAKS`` passes, each measuring
    the local levels on the pairs the previous pass did not take for copies (the first on all
    pairs but the evident copies, :func:`_evident_copies`); a pair with
    fewer than 3 such pairs on one side keeps the thresholds of the levels of all pairs unless it
    is tiny beside the real pairs. ``lossless``: the frames come from a losslessly
    coded file; where its copies are bit-identical the margins are 0. ``shares``: (N-1,)
    changed shares (:func:`changed_share`), tested like the peaks against the copies' noise;
    a quiet pair (:func:`_quiet`) is held to QUIET_RATIO of the MAD and peak levels instead.
    ``spotted``: (N-1,) bool, pairs never taken (their spot is at least SPOT_LEVEL, module doc
    "Spots"); each pass measures its levels on them as on the other real pairs."""
    # a pair with real pairs on one side only keeps the (stricter) thresholds of the levels of all
    # pairs, copies and all, or those tiny beside that side: with one side, a slow real frame looks like a copy
    first = _strict_and_loose(
        _local_levels(diffs, AUTO_WINDOW, AUTO_QUANTILE_WITH_PEAKS), _local_levels(peaks, AUTO_WINDOW, AUTO_QUANTILE_WITH_PEAKS)
    )
    is_duplicate = _evident_copies(diffs, peaks)  # left out of the first pass's levels only (module doc, "Dense copies")
    if spotted is not None:
        is_duplicate &= ~spotted
    margin = NOISE_MARGIN
    for passes in range(1, AUTO_PASSES_WITH_PEAKS + 1):
        keep = ~is_duplicate
        mad_levels = _local_levels(diffs, AUTO_WINDOW, AUTO_QUANTILE_WITH_PEAKS, keep)  # (N-1,)
        peak_levels = _local_levels(peaks, AUTO_WINDOW, AUTO_QUANTILE_WITH_PEAKS, keep)
        strict, loose = _strict_and_loose(mad_levels, peak_levels)
        one_sided = _one_sided(keep, AUTO_WINDOW)
        tiny = _from_levels(mad_levels, AUTO_TINY_RATIO), _from_levels(peak_levels, AUTO_TINY_RATIO)
        strict = _one_sided_kept(one_sided, first[0], tiny, strict)
        loose = _one_sided_kept(one_sided, first[1], tiny, loose)
        thresholds, peak_thresholds = strict
        if shares is not None:
            share_levels = _local_levels(shares, AUTO_WINDOW, AUTO_QUANTILE_WITH_PEAKS, keep)  # (N-1,)
            quiet = _quiet(shares, share_levels)  # (N-1,) bool
            thresholds, peak_thresholds = np.where(quiet, loose[0], strict[0]), np.where(quiet, loose[1], strict[1])
        candidate = (diffs <= thresholds) & (peaks <= peak_thresholds)
        exact = False
        if candidate.any():  # copies share the clip's codec noise: drop values far above theirs
            exact = lossless and float(np.median(diffs[candidate])) == 0.0  # bit-identical copies: no codec noise at all
            margin = 0.0 if exact else NOISE_MARGIN
            # without codec noise, a difference is only excused tiny beside real motion, not where none was seen (NaN level)
            waive = (lambda levels: np.nan_to_num(levels, nan=0.0)) if exact else (lambda levels: levels)
            noisy = _stands_out(peaks, candidate, margin, waive(peak_levels))
            if shares is not None:
                noisy |= _stands_out(shares, candidate, 0.0 if exact else SHARE_MARGIN, waive(share_levels))
            candidate &= ~noisy
        found = candidate | (diffs <= (0.0 if exact else AUTO_FLOOR))  # bit-identical copies: the floor is 0 too
        if spotted is not None:
            found &= ~spotted
        if (found == is_duplicate).all():
            break
        is_duplicate = found
    return thresholds, peak_thresholds, found, margin, passes


def _strict_and_loose(mad_levels: np.ndarray, peak_levels: np.ndarray) -> tuple[tuple, tuple]:
    """The strict (MAD, peak) thresholds of these local levels, and the looser ones of a quiet
    pair (:func:`_quiet`), each (N-1,)."""
    strict = _from_levels(mad_levels, AUTO_MAD_RATIO_WITH_PEAKS), _from_levels(peak_levels, AUTO_PEAK_RATIO)
    return strict, (_from_levels(mad_levels, QUIET_RATIO), _from_levels(peak_levels, QUIET_RATIO))


def _evident_copies(diffs: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """(N-1,) bool: pairs whose MAD and peak are both at most SEED_RATIO x the SEED_QUANTILE
    of their neighbours' (each side's ``AUTO_WINDOW`` nearest pairs, the smaller side's level), so
    that copies outnumbering the real pairs do not set the first pass's levels (module doc, "Dense
    copies"). Only the levels leave them out: each pass decides every pair anew."""
    mad_levels = _local_levels(diffs, AUTO_WINDOW, SEED_QUANTILE)  # (N-1,)
    peak_levels = _local_levels(peaks, AUTO_WINDOW, SEED_QUANTILE)
    return (diffs <= _from_levels(mad_levels, SEED_RATIO)) & (peaks <= _from_levels(peak_levels, SEED_RATIO))


def _one_sided_kept(one_sided: np.ndarray, first: tuple, tiny: tuple, now: tuple) -> tuple:
    """(MAD, peak) thresholds, each (N-1,): ``now``'s, but a one-sided pair keeps ``first``'s
    (the first pass's) or, when larger, ``tiny``'s (AUTO_TINY_RATIO x the levels)."""
    return tuple(np.where(one_sided, np.maximum(was, small), new) for was, small, new in zip(first, tiny, now))


def _quiet(shares: np.ndarray, share_levels: np.ndarray) -> np.ndarray:
    """(N-1,) bool: the pair's changed share is at most QUIET_SHARE_RATIO x the local share level
    of the real pairs, where that level is at least SHARE_MARGIN (a share this small says
    nothing, module doc)."""
    levels = np.nan_to_num(share_levels, nan=0.0)
    return (levels >= SHARE_MARGIN) & (shares <= QUIET_SHARE_RATIO * levels)


def _stands_out(values: np.ndarray, candidate: np.ndarray, margin: float, levels: np.ndarray) -> np.ndarray:
    """(N-1,) bool: above NOISE_FACTOR x the candidates' median + ``margin``, and not tiny
    (> AUTO_TINY_RATIO x ``levels``, the local level of the real pairs) beside real motion."""
    above_noise = values > NOISE_FACTOR * float(np.median(values[candidate])) + margin
    return above_noise & ~(values <= AUTO_TINY_RATIO * np.nan_to_num(levels, nan=np.inf))


def _mixed_copies(diffs: np.ndarray, peaks: np.ndarray, intra: np.ndarray, is_duplicate: np.ndarray) -> np.ndarray:
    """(N-1,) bool: pairs of one intra-coded and one predicted frame (``intra``, (N,)) whose peak
    is at most MIXED_PEAK_RATIO x, and MAD at most MIXED_MAD_RATIO x, their local levels (medians
    of the ``AUTO_WINDOW`` nearest pairs on each side that ``is_duplicate`` does not take); with
    fewer than 3 such pairs on one side, a peak at most AUTO_TINY_RATIO x the level (module doc,
    "Intra-coded frames")."""
    mixed = intra[:-1] != intra[1:]  # (N-1,)
    if not mixed.any():
        return np.zeros(len(diffs), dtype=bool)
    keep = ~is_duplicate
    peak_levels = _local_levels(peaks, AUTO_WINDOW, AUTO_QUANTILE_WITH_PEAKS, keep)
    mad_levels = _local_levels(diffs, AUTO_WINDOW, AUTO_QUANTILE_WITH_PEAKS, keep)
    quiet = (peaks <= _from_levels(peak_levels, MIXED_PEAK_RATIO, 0.0)) & (diffs <= _from_levels(mad_levels, MIXED_MAD_RATIO, 0.0))
    # real pairs on one side only (the clip's first pair, a slow start; its last few): only a peak tiny beside that side
    tiny = peaks <= _from_levels(peak_levels, AUTO_TINY_RATIO, 0.0)
    return mixed & quiet & (~_one_sided(keep, AUTO_WINDOW) | tiny)


def _per_pair(values: np.ndarray | list[float], name: str, pairs: int, refusal: str, most: float = np.inf) -> np.ndarray:
    """``values`` as (N-1,) float64, checked: one per pair (``pairs``), finite, 0 to ``most``;
    ValueError otherwise (``refusal`` says what they must be)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)  # (N-1,)
    if len(values) != pairs:
        raise ValueError(f"{name} must have one value per pair ({pairs}), got {len(values)}")
    if not np.isfinite(values).all() or (values < 0).any() or (values > most).any():
        raise ValueError(refusal)
    return values


def detect_duplicates(
    diffs: np.ndarray | list[float],
    threshold: float | str = "auto",
    max_run: int = DEFAULT_MAX_RUN,
    cut_threshold: float = CUT_THRESHOLD,
    cut_factor: float = CUT_FACTOR,
    peaks: np.ndarray | list[float] | None = None,
    lossless: bool = False,
    shares: np.ndarray | list[float] | None = None,
    intra: np.ndarray | list[bool] | None = None,
    spots: np.ndarray | list[float] | None = None,
) -> Detection:
    """Duplicates, runs and cuts of a clip from its (N-1,) adjacent MADs (module doc).

    Args:
        diffs: MAD between frames i and i+1, 0-255 scale.
        threshold: "auto", or a number T >= 0 (frame i+1 is a duplicate when MAD <= T).
        max_run: longest run that is repaired.
        peaks: (N-1,) peak differences of the same pairs (:func:`peak_difference`); ``auto``
            uses them (module doc), a fixed T ignores them (the method's rule is on the MAD).
        lossless: the frames come from a losslessly coded file (``VideoInfo.lossless``); with
            peaks, where the copies ``auto`` finds are bit-identical its noise margins are 0
            (module doc).
        shares: (N-1,) changed shares of the same pairs (:func:`changed_share`); ``auto`` with
            peaks uses them too (module doc); they need ``peaks``.
        intra: (N,) whether the decoder reports each frame as intra-coded (an I-frame); ``auto``
            with peaks judges a pair of an intra-coded and a predicted frame by its peak
            (:func:`_mixed_copies`, module doc "Intra-coded frames"); None: not known.
        spots: (N-1,) spots of the same pairs (:func:`spot_difference`); ``auto`` with peaks
            never takes a pair whose spot is at least SPOT_LEVEL (module doc, "Spots").
    """
    diffs = np.asarray(diffs, dtype=np.float64).reshape(-1)  # (N-1,)
    if not np.isfinite(diffs).all() or (diffs < 0).any():
        raise ValueError("adjacent differences must be finite and >= 0")
    if peaks is not None:
        peaks = _per_pair(peaks, "peaks", len(diffs), "peak differences must be finite and >= 0")
    if shares is not None:
        if peaks is None:
            raise ValueError("changed shares are used with peak differences: give peaks too")
        shares = _per_pair(shares, "shares", len(diffs), "changed shares must be finite percentages, 0-100", most=100.0)
    if spots is not None:
        if peaks is None:
            raise ValueError("spots are used with peak differences: give peaks too")
        spots = _per_pair(spots, "spots", len(diffs), "spots must be finite and >= 0")
    if intra is not None:
        intra = np.asarray(intra, dtype=bool).reshape(-1)  # (N,)
        if intra.shape != (len(diffs) + 1,):
            raise ValueError(f"intra must have one value per frame ({len(diffs) + 1}), got {len(intra)}")
    if isinstance(max_run, bool) or not isinstance(max_run, (int, np.integer)) or max_run < 1:
        raise ValueError(f"max_run must be a positive integer, got {max_run!r}")
    frame_count = len(diffs) + 1
    settings: dict = {}
    peak_thresholds = None
    if isinstance(threshold, str):
        if threshold != "auto":
            raise ValueError(f"threshold must be 'auto' or a number of grey levels, got {threshold!r}")
        mode = "auto"
        settings = {"window": AUTO_WINDOW, "quantile": AUTO_QUANTILE, "ratio": AUTO_RATIO, "floor": AUTO_FLOOR}
        if peaks is None:
            thresholds = auto_thresholds(diffs)
            is_duplicate = diffs <= thresholds  # (N-1,) pair i -> frame i+1
        else:
            spotted = None if spots is None else spots >= SPOT_LEVEL  # (N-1,) never copies (module doc, "Spots")
            thresholds, peak_thresholds, is_duplicate, margin, passes = _auto_with_peaks(diffs, peaks, lossless, shares, spotted)
            mixed = 0
            if intra is not None:
                found = _mixed_copies(diffs, peaks, intra, is_duplicate)
                if spotted is not None:
                    found &= ~spotted
                mixed = int(np.count_nonzero(found & ~is_duplicate))
                is_duplicate = is_duplicate | found
            settings.update(
                quantile=AUTO_QUANTILE_WITH_PEAKS, ratio=AUTO_MAD_RATIO_WITH_PEAKS, peak_ratio=AUTO_PEAK_RATIO, noise_factor=NOISE_FACTOR,
                noise_margin=margin, tiny_ratio=AUTO_TINY_RATIO, peak_block=PEAK_BLOCK, peak_quantile=PEAK_QUANTILE, passes=passes,
                max_passes=AUTO_PASSES_WITH_PEAKS, seed_quantile=SEED_QUANTILE, seed_ratio=SEED_RATIO,
                lossless_input=bool(lossless),
            )  # fmt: skip
            if intra is not None:
                settings.update(mixed_peak_ratio=MIXED_PEAK_RATIO, mixed_mad_ratio=MIXED_MAD_RATIO, mixed_pairs_taken=mixed)
            if spots is not None:
                settings.update(spot_block=SPOT_BLOCK, spot_level=SPOT_LEVEL, spotted_pairs=int(np.count_nonzero(spotted)))
            if shares is not None:
                settings.update(
                    change_level=CHANGE_LEVEL, share_margin=0.0 if margin != NOISE_MARGIN else SHARE_MARGIN,
                    quiet_share_ratio=QUIET_SHARE_RATIO, quiet_ratio=QUIET_RATIO,
                )  # fmt: skip
    else:
        if isinstance(threshold, bool) or not np.isfinite(float(threshold)) or float(threshold) < 0:
            raise ValueError(f"threshold must be 'auto' or a number >= 0, got {threshold!r}")
        thresholds = np.full(len(diffs), float(threshold))
        is_duplicate = diffs <= thresholds  # (N-1,) pair i -> frame i+1
        mode = "fixed"
    if mode == "fixed":
        value = float(threshold)
        how = f"fixed by the user: frame k+1 is a duplicate when MAD(k, k+1) <= {value:g}"
    else:
        value = separating_threshold(diffs, is_duplicate)
        if not is_duplicate.any():
            value = float(thresholds.min()) if len(thresholds) else AUTO_FLOOR
        if peaks is None:
            rule = (
                f"auto: a pair is a duplicate when its MAD is <= {AUTO_RATIO:g} x the local motion level "
                f"(smaller of the {AUTO_QUANTILE:.0%} quantiles of the {AUTO_WINDOW} MADs on each side) or <= {AUTO_FLOOR:g}"
            )
        else:
            rule = (
                f"auto: a pair is a duplicate when its MAD is <= {AUTO_FLOOR:g}, or when its MAD is <= "
                f"{AUTO_MAD_RATIO_WITH_PEAKS:g} x the local motion level (smaller of the medians "
                f"of the {AUTO_WINDOW} nearest MADs on each side that are not copies; copies: those of a first pass on "
                f"all pairs but those whose MAD and peak are <= {SEED_RATIO:g} x the {SEED_QUANTILE:.0%} quantile of their "
                f"neighbours'), its peak 16x16-block difference <= {AUTO_PEAK_RATIO:g} x the same level of the peaks, "
                f"and that peak <= {NOISE_FACTOR:g} x the median peak of such pairs + {settings['noise_margin']:g}"
                + (
                    f", and its share of pixels changing by >= {CHANGE_LEVEL:g} grey levels <= {NOISE_FACTOR:g} x the "
                    f"median share of such pairs + {settings['share_margin']:g} (percent); a quiet pair (share <= "
                    f"{QUIET_SHARE_RATIO:g} x the same level of the shares, that level >= {SHARE_MARGIN:g}) may have MAD "
                    f"and peak up to {QUIET_RATIO:g} x their levels"
                    if shares is not None
                    else ""
                )
                + f" (each of these noise caps waived at <= {AUTO_TINY_RATIO:g} x the local level: tiny beside real motion)"
                + (
                    f"; a pair with an {SPOT_BLOCK}x{SPOT_BLOCK} block changing by >= {SPOT_LEVEL:g} grey levels on "
                    "average is never a duplicate (a cursor, a typed character: more than a codec's noise)"
                    if spots is not None
                    else ""
                )
                + (
                    f"; a pair of an intra-coded and a predicted frame is a duplicate when its peak is <= {MIXED_PEAK_RATIO:g} x "
                    f"and its MAD <= {MIXED_MAD_RATIO:g} x their levels (its codec noise is the intra frame's own)"
                    if intra is not None
                    else ""
                )
                + ("; the input is losslessly coded and its copies bit-identical, so no noise margin" if settings["noise_margin"] != NOISE_MARGIN else "")
            )
        if value is None:
            how = rule + "; no single T separates the duplicates found from the other pairs, so the per-pair thresholds decide"
        elif is_duplicate.any():
            how = rule + f"; the duplicates found are exactly the pairs with MAD <= {value:.4f}"
        else:
            how = rule + f"; no pair qualifies (smallest per-pair threshold {value:.4f})"
    duplicates = [int(i) + 1 for i in np.flatnonzero(is_duplicate)]
    level = cut_level(diffs, is_duplicate, cut_threshold, cut_factor)
    cuts = [int(i) for i in np.flatnonzero(diffs > level)]
    cut_set = set(cuts)
    runs = []
    for first, last in find_runs(duplicates):
        if last == frame_count - 1:
            status = "end"
        elif first == 1:
            status = "start"
        elif last in cut_set:  # pair (last, last + 1): from the copies to the next distinct frame
            status = "cut"
        elif last - first + 1 > max_run:
            status = "too_long"
        else:
            status = "repair"
        runs.append(Run(first, last, status))
    return Detection(
        frame_count, diffs, thresholds, value, mode, how, duplicates, runs, cuts, level, int(max_run), settings,
        peaks, peak_thresholds, shares, spots,
    )  # fmt: skip

# Plot for bench/run.sh:  gnuplot -e "out='bench/out'" bench/plot.gp
# Reads out/hooks.dat, out/size.dat and out/fit.gp (written by report.py).
if (!exists("out")) out = "bench/out"
load out."/fit.gp"
set terminal pngcairo size 1400,560 font "sans,11"
set output out."/scaling.png"
set multiplot layout 1,2 title "hookpatch: patch time (median wall time; hookpatch vs cp of the same file)"
set logscale xy
set grid
set key top left
set format y "%g"
set ylabel "time (ms)"
set style data linespoints

set xlabel "hooks (synthetic C program, one function per hook, passthrough)"
set title sprintf("time vs hooks: log-log slope %.2f over 1k-100k hooks", slope_h)
set xrange [0.5:200000]
linear(x) = ref_t * x / ref_h
plot out."/hooks.dat" using 1:($2*1000) title "hookpatch --no-fsync" lw 2 pt 7 lc rgb "#9400d3", \
     ""               using 1:($4*1000) title "hookpatch (fsync)" lw 2 pt 5 lc rgb "#009e73", \
     ""               using 1:($3*1000) title "cp" lw 1 pt 6 dt 2 lc rgb "#56b4e9", \
     ""               using 1:($5*1000) title "cp + sync" lw 1 pt 4 dt 2 lc rgb "#e69f00", \
     [300:200000] linear(x) with lines title "slope 1 through the 100k point" lc rgb "black" dt 3 lw 1.5

set xlabel "input size (MiB; 1,000 hooks, random .rodata padding)"
set title sprintf("time vs file size: log-log slope %.2f over 1-100 MiB", slope_s)
set xrange [*:*]
plot out."/size.dat" using 1:($2*1000) title "hookpatch --no-fsync" lw 2 pt 7 lc rgb "#9400d3", \
     ""              using 1:($4*1000) title "hookpatch (fsync)" lw 2 pt 5 lc rgb "#009e73", \
     ""              using 1:($3*1000) title "cp" lw 1 pt 6 dt 2 lc rgb "#56b4e9", \
     ""              using 1:($5*1000) title "cp + sync" lw 1 pt 4 dt 2 lc rgb "#e69f00"
unset multiplot

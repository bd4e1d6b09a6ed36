import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RedPoint } from '../ops-types.ts';

/** A service's RED over time: requests/s, error % and p99 latency, drawn by uPlot. */
export function RedChart({ service, points }: { service: string; points: RedPoint[] }) {
  const element = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const data: uPlot.AlignedData = [
    points.map((point) => point.t / 1000),
    points.map((point) => point.rate),
    points.map((point) => point.error_pct),
    points.map((point) => point.p99_ms),
  ];
  useEffect(() => {
    if (!element.current) return;
    chart.current = new uPlot(
      {
        width: 340,
        height: 150,
        legend: { show: true },
        scales: { ms: { auto: true }, pct: { range: [0, 100] } },
        axes: [{}, { label: 'req/s', size: 40 }, { scale: 'ms', side: 1, label: 'ms', size: 40 }],
        series: [
          {},
          { label: 'req/s', stroke: '#2f5fd0', width: 1.5 },
          { label: 'error %', stroke: '#b3261e', scale: 'pct', width: 1.5 },
          { label: 'p99 ms', stroke: '#1b7f3b', scale: 'ms', width: 1.5 },
        ],
      },
      [[], [], [], []],
      element.current,
    );
    return () => chart.current?.destroy();
  }, []);
  useEffect(() => {
    chart.current?.setData(data);
  });
  return (
    <figure className="chart" aria-label={`RED of ${service}`}>
      <h3>{service}</h3>
      <div ref={element} />
    </figure>
  );
}

/** The last lines a process or container wrote, kept as they arrive, so a log tail can be answered at once. */
export class LogRing {
  private lines: string[] = [];
  private partial = '';
  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop()!;
    this.lines.push(...parts);
    if (this.lines.length > 400) this.lines = this.lines.slice(-200);
  }
  tail(n: number): string {
    return [...this.lines, ...(this.partial ? [this.partial] : [])].slice(-n).join('\n');
  }
}

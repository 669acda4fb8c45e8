// Redrawing a screen in place on a terminal, as top does: the alternate screen while it
// runs (the terminal's scrollback is left alone), each frame written from the top-left
// corner over the last one (no flicker), and the last frame printed again on exit.
const CSI = "\u001b[";

export class Redraw {
  private last = "";

  constructor(private readonly stream: NodeJS.WritableStream) {
    this.stream.write(`${CSI}?1049h${CSI}?25l`);
  }

  draw(text: string): void {
    this.last = text;
    const body = text
      .split("\n")
      .map((l) => `${l}${CSI}K`)
      .join("\n");
    this.stream.write(`${CSI}H${body}\n${CSI}J`);
  }

  done(): void {
    this.stream.write(`${CSI}?25h${CSI}?1049l`);
    if (this.last) this.stream.write(`${this.last}\n`);
  }
}

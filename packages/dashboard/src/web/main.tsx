// The dashboard's entry: reads the page's parameters and renders the app.
import { render } from "preact";
import { pageParams } from "./params.js";
import { App } from "./ui/App.js";

render(<App params={pageParams(window.location)} />, document.getElementById("app")!);

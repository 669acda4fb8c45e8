import { describe, expect, it } from "vitest";
import {
  DEFAULT_MARIADB_IMAGE,
  DEFAULT_NATS_IMAGE,
  LabError,
  labBackendFromEnv,
  labImages,
} from "../src/index.js";

describe("lab backend selection (MARINA_LAB_BACKEND)", () => {
  it.each([
    [undefined, "native"],
    ["", "native"],
    ["native", "native"],
    [" containers ", "containers"],
  ])("%j selects %s", (value, want) => {
    expect(labBackendFromEnv(value === undefined ? {} : { MARINA_LAB_BACKEND: value })).toBe(want);
  });

  it("refuses anything else, naming the variable and the choices", () => {
    expect(() => labBackendFromEnv({ MARINA_LAB_BACKEND: "docker" })).toThrow(
      /MARINA_LAB_BACKEND="docker" is not a lab backend: use "native" \(the default\) or "containers"/,
    );
    expect(() => labBackendFromEnv({ MARINA_LAB_BACKEND: "docker" })).toThrow(LabError);
  });
});

describe("container images (MARINA_MARIADB_IMAGE, MARINA_NATS_IMAGE)", () => {
  it("are the official images by default", () => {
    expect(labImages({})).toEqual({ mariadb: "mariadb:10.11", nats: "nats:2.9" });
    expect([DEFAULT_MARIADB_IMAGE, DEFAULT_NATS_IMAGE]).toEqual(["mariadb:10.11", "nats:2.9"]);
  });

  it("come from the environment", () => {
    const env = {
      MARINA_MARIADB_IMAGE: "localhost/marina-mariadb:10.11",
      MARINA_NATS_IMAGE: "registry.example:5000/team/nats@sha256:0123abcd",
    };
    expect(labImages(env)).toEqual({
      mariadb: "localhost/marina-mariadb:10.11",
      nats: "registry.example:5000/team/nats@sha256:0123abcd",
    });
  });

  it.each(["mariadb:10.11; rm -rf /", "$(id)", "-rm", "a b", "x".repeat(256)])(
    "refuses %j with the variable's name",
    (bad) => {
      expect(() => labImages({ MARINA_MARIADB_IMAGE: bad })).toThrow(
        /MARINA_MARIADB_IMAGE=.* is not an image name/,
      );
    },
  );
});

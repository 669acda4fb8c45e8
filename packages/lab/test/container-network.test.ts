import { describe, expect, it } from "vitest";
import {
  containerAddress,
  formatIpv4,
  macAddress,
  parseSubnet,
} from "../src/containers/network.js";

describe("the containers backend's fixed addresses", () => {
  it("parses a subnet to its first address", () => {
    expect(parseSubnet("10.89.3.0/24")).toEqual({
      base: parseSubnet("10.89.3.7/24").base,
      prefix: 24,
    });
    expect(formatIpv4(parseSubnet("172.18.0.0/16").base)).toBe("172.18.0.0");
    expect(formatIpv4(parseSubnet("192.168.16.5/20").base)).toBe("192.168.16.0");
  });

  it.each(["10.89.3.0", "10.89.3.0/33", "10.89.256.0/24", "fd00::/64", "10.0.0.0/31", "x/24"])(
    "refuses %s",
    (cidr) => {
      expect(() => parseSubnet(cidr)).toThrow(/not an IPv4 subnet/);
    },
  );

  it("gives addresses after the gateway, skipping it wherever it is", () => {
    const net = parseSubnet("10.89.3.0/24");
    expect([0, 1, 2].map((i) => containerAddress(net, "10.89.3.1", i))).toEqual([
      "10.89.3.2",
      "10.89.3.3",
      "10.89.3.4",
    ]);
    expect(containerAddress(net, undefined, 0)).toBe("10.89.3.2");
    expect([0, 1, 2].map((i) => containerAddress(net, "10.89.3.2", i))).toEqual([
      "10.89.3.1",
      "10.89.3.3",
      "10.89.3.4",
    ]);
    expect(containerAddress(parseSubnet("172.18.0.0/16"), "172.18.0.1", 300)).toBe("172.18.1.46");
  });

  it("never gives the broadcast address", () => {
    const net = parseSubnet("10.1.1.0/29");
    expect(containerAddress(net, "10.1.1.1", 4)).toBe("10.1.1.6");
    expect(() => containerAddress(net, "10.1.1.1", 5)).toThrow(/no address left/);
  });

  it("fixes a MAC address by the IP address (locally administered)", () => {
    expect(macAddress("10.89.0.3")).toBe("02:42:0a:59:00:03");
    expect(macAddress("172.18.255.254")).toBe("02:42:ac:12:ff:fe");
    expect(() => macAddress("10.89.0")).toThrow(/not an IPv4 address/);
  });
});

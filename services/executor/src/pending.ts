// What a replica has received but not yet applied. Pure.
import { formatGtidList, parseGtidList, positionOf, seqInDomain } from "@marina/contracts";

/**
 * The entries of a connection's Gtid_IO_Pos the server does not have yet: per domain, the
 * IO position's last GTID when its sequence is beyond both gtid_slave_pos (applied by
 * replication) and gtid_binlog_pos (written here, e.g. by an earlier life as primary).
 *
 * Why filter at all: Gtid_IO_Pos also lists domains this connection does not carry (it
 * starts from the global position, so in multi-source it holds the other sources' domains
 * too, and with current_pos it holds local writes). Waiting for those with
 * MASTER_GTID_WAIT, which watches gtid_slave_pos only, could never succeed.
 */
export function pendingGtids(ioPos: string, slavePos: string, binlogPos: string): string {
  const io = positionOf(parseGtidList(ioPos));
  const slave = parseGtidList(slavePos);
  const binlog = parseGtidList(binlogPos);
  const pending = io.filter((g) => {
    return g.seq > seqInDomain(slave, g.domain) && g.seq > seqInDomain(binlog, g.domain);
  });
  return formatGtidList(pending);
}

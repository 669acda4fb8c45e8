import { isGtidList } from "@marina/contracts";

/** What a prepared physical backup says about its position. GTIDs stay strings. */
export interface BackupPosition {
  /** Donor's binlog file and offset at the consistent point. */
  readonly binlogFile: string | null;
  readonly binlogPos: number | null;
  /** Third field of xtrabackup_binlog_info: the donor's GTID position at the backup. */
  readonly gtid: string;
  /** gtid_slave_pos from xtrabackup_slave_info (donor was a replica), if any. */
  readonly slaveGtid: string | null;
}

/**
 * Parses `xtrabackup_binlog_info` ("binlog.000003<TAB>1078<TAB>0-1-5,1-2-7") and, when
 * present, `xtrabackup_slave_info` ("SET GLOBAL gtid_slave_pos = '0-1-5'; CHANGE MASTER ...").
 * An empty GTID is returned as "" (a donor that never wrote a transaction).
 */
export function parseBackupPosition(binlogInfo: string, slaveInfo: string | null): BackupPosition {
  const line = binlogInfo.split("\n").find((l) => l.trim().length > 0) ?? "";
  const fields = line.trim().split(/\s+/);
  const [file, pos, ...rest] = fields;
  const gtid = rest.join("").trim();
  if (gtid !== "" && !isGtidList(gtid)) {
    throw new Error(
      `xtrabackup_binlog_info: third field is not a GTID list: ${JSON.stringify(gtid)}`,
    );
  }
  const posNum = pos !== undefined && /^[0-9]+$/.test(pos) ? Number(pos) : null;
  let slaveGtid: string | null = null;
  const m = slaveInfo ? /gtid_slave_pos\s*=\s*'([^']*)'/i.exec(slaveInfo) : null;
  if (m && (m[1] === "" || isGtidList(m[1]!))) slaveGtid = m[1]!;
  return {
    binlogFile: file !== undefined && file !== "" ? file : null,
    binlogPos: posNum,
    gtid,
    slaveGtid,
  };
}

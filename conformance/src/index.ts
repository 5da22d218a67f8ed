// @qotp/conformance: the black-box runner as a library (the CLI is src/cli.ts).
export { allCases } from './cases/index.js';
export {
  CheckFailure,
  type CaseContext,
  type CaseDefinition,
  type Capability,
  type Check,
  type Level,
  type Measurement,
  type Role,
} from './kit/case.js';
export { runCases, type CaseResult, type RunOptions } from './runner.js';
export { counts, levelOf, summarize, summaryLine, type Outcome, type Summary } from './verdict.js';
export { attachedTarget, bundledTarget, loadTarget } from './targets/target.js';
export { TargetError, type Target, type TargetConfig } from './targets/config.js';
export { fill } from './targets/commands.js';
export { launch } from './targets/process.js';
export { startServer } from './targets/server.js';
export { buildReport, targetReport, type Report, type TargetReport } from './report/model.js';
export { htmlReport } from './report/html.js';
export { junitXml } from './report/junit.js';
export { writePcap } from './capture/pcap.js';
export { schemaValidator } from './schemas.js';
export { TesterPeer } from './peer/tester-peer.js';
export { PeerConnection } from './peer/peer-connection.js';
export { startRelay, type Relay, type Relayed, type RelaySettings } from './impair/relay.js';
export { describeImpairment, ImpairedPath, type Fate, type Impairment } from './impair/impairment.js';
export { decodeCaptured, timeline, type DecodeReport, type TimedDatagram } from './capture/open.js';
export { parseKeyLog, type KeyLog } from './capture/key-log.js';
export {
  describeResent,
  giveUpAllowed,
  MAX_COPIES,
  noCause,
  readResends,
  stoppedFirst,
  type ResendRecord,
  type Resent,
  type Side,
} from './impair/resends.js';

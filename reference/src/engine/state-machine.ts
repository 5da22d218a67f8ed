// The spec's state machines (spec/qotp.spec.json, stateMachines) as the engine runs them:
// a Machine holds one table's current state and moves only along its rows, by row id. A row
// that does not start in the current state is a bug of the engine, not of the peer, so it
// throws. Tests watch every transition taken (observeTransitions) and check that the engine
// takes every row of the tables it follows.
import { spec, type StateMachine } from '@qotp/spec';

export type MachineId =
  'initiator-handshake' | 'responder-handshake' | 'connection-lifetime' | 'stream-send' | 'stream-receive';

type Observer = (machine: MachineId, row: string) => void;
const observers = new Set<Observer>();

/** Calls `observer` for every transition any Machine takes, until the returned function is called. */
export function observeTransitions(observer: Observer): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

function table(id: MachineId): StateMachine {
  const t = spec.stateMachines.find((m) => m.id === id);
  if (t === undefined) throw new Error(`the spec has no state machine ${id}`);
  return t;
}

export class Machine {
  private readonly table: StateMachine;
  state: string;

  constructor(readonly id: MachineId) {
    this.table = table(id);
    this.state = this.table.initial;
  }

  /** Takes row `row`: the state must be the row's start; the state becomes its end. */
  take(row: string): void {
    const t = this.table.transitions.find((r) => r.id === row);
    if (t === undefined) throw new Error(`${this.id} has no row '${row}'`);
    if (t.from !== this.state)
      throw new Error(`${this.id} row '${row}' starts in '${t.from}', the machine is in '${this.state}'`);
    this.state = t.to;
    for (const o of observers) o(this.id, row);
  }
}

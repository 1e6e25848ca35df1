/**
 * ProblemBanner: the page's problems (problems.js) on screen and in the test hooks. Every
 * change to the stack is rendered at once, newest on top.
 */

import { ProblemStack } from './problems.js';

export class ProblemBanner {
  /**
   * @param {object} deps
   * @param {import('./ui.js').Ui} deps.ui
   * @param {object} deps.hooks window.__liveavatar
   */
  constructor({ ui, hooks }) {
    this.ui = ui;
    this.hooks = hooks;
    this._stack = new ProblemStack();
  }

  /**
   * Show a problem with the others that still apply.
   * @param {string} code
   * @param {{message?: string, url?: string, retryInMs?: number}} [extra]
   */
  show(code, extra = {}) {
    const problem = this._stack.add(code, extra);
    this.hooks.record('problem', { code, message: problem.text });
    this._render();
  }

  /** @param {...import('./problems.js').Slot} slots none: every slot */
  clear(...slots) {
    if (this._stack.clear(...slots)) this._render();
  }

  /** @param {string} code */
  resolve(code) {
    if (this._stack.resolve(code)) this._render();
  }

  _render() {
    const list = this._stack.list;
    this.ui.showProblems(list);
    const top = this._stack.top;
    this.hooks.lastError = top ? { code: top.code, message: top.text } : null;
    this.hooks.problems = list.map((p) => p.code);
  }
}

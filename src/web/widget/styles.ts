// The widget's styles, inside its shadow root: the host page's rules cannot reach its elements,
// and the root resets every property it could inherit from the host. Sizes are in px, not rem:
// a host page's root font size must not change them. Colours meet WCAG 2.1 AA contrast on white.
export const STYLES = `
:host { all: initial; display: block; }
.am { all: initial; display: block; box-sizing: border-box; max-width: 640px; padding: 20px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.5; color: #1f2933; background: #ffffff;
  border: 1px solid #7b8794; border-radius: 8px; text-align: left; }
.am *, .am *::before, .am *::after { box-sizing: border-box; }
.am h2 { margin: 0 0 4px; font-size: 20px; line-height: 1.3; font-weight: 700; color: #1f2933; }
.am .version { margin: 0 0 12px; font-size: 14px; color: #52606d; }
.am .text { display: block; max-height: 260px; overflow: auto; margin: 0 0 8px; padding: 12px;
  white-space: pre-wrap; overflow-wrap: anywhere; font: inherit; font-size: 15px; color: #1f2933;
  background: #f5f7fa; border: 1px solid #9aa5b1; border-radius: 6px; }
.am .hint { margin: 0 0 12px; font-size: 14px; color: #52606d; }
.am .consent { display: flex; gap: 10px; align-items: flex-start; margin: 0 0 16px; }
.am .consent input { width: 20px; height: 20px; margin: 2px 0 0; flex: none; accent-color: #1d4ed8; }
.am .consent label { cursor: pointer; }
.am .actions { display: flex; flex-wrap: wrap; gap: 12px; }
.am button { all: initial; box-sizing: border-box; display: inline-block; min-height: 44px; padding: 10px 20px;
  font-family: inherit; font-size: 16px; font-weight: 600; line-height: 1.4; border-radius: 6px; cursor: pointer;
  border: 2px solid #1d4ed8; }
.am button.primary { color: #ffffff; background: #1d4ed8; }
.am button.secondary { color: #1f2933; background: #ffffff; border-color: #52606d; }
.am button[disabled] { cursor: not-allowed; opacity: 0.6; }
.am :focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
.am .text:focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
.am .status { margin: 12px 0 0; min-height: 24px; }
.am .error { color: #b42318; font-weight: 600; }
.am .done { margin: 0; font-size: 16px; }
.am .done:focus { outline: none; }
.am .done:focus-visible { outline: 3px solid #b45309; outline-offset: 2px; }
.am [role="alert"]:focus { outline: none; }
.am .small { font-size: 14px; color: #52606d; }
`;

"""The method notebooks' ipywidgets explorers, live in JupyterLab in a real (headless) Chromium: each explorer's figure
must change when any of its controls changes.

For every explorer cell of nbs/03_*…08_* (a code cell whose last statement calls a function of the notebook named
`*explor*`/`*widget*`, e.g. `head_explorer(clip, scenes, ts)`), the test writes a working copy holding only that cell
and the cells it depends on (every earlier top-level import cell, then, walking back, each earlier cell that defines a
name still needed; cells flagged notest/slow/weights/gpu are left out), into a temporary folder. nbs/ is never written.
One `jupyter lab` (127.0.0.1, a free port, a random token, its config/data/runtime folders in the temporary folder)
serves them all; Playwright drives Debian's `chromium` (environment.md §9–10). Per explorer: open the copy, Run All,
require a figure (an <img> inside the widget's Output) and no error from the explorer cell (errors in the cells it
needs, e.g. a notebook's own assertion, only warn: those cells are tagged `raises-exception` and tests/test_notebooks.py
runs them in order), then for each control in turn (dropdowns:
the next option; sliders: one arrow-key step, the first handle of a range) require that the figure's PNG changes
within CONTROL_SECONDS. The kernel is shut down after each notebook, JupyterLab (and any kernel left) at the end.

Skipped, with the reason, only where Playwright or a Chromium binary is missing (`apt-get install -y chromium`;
`CLIP_EXPLAIN_CHROMIUM=/path/to/chrome` picks another binary). Run alone: `python -m pytest -q tests/test_jupyterlab.py`.
"""
import ast, json, os, re, secrets, shutil, signal, socket, subprocess, sys, symtable, time, urllib.request, warnings
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
METHOD_NBS = sorted((ROOT/'nbs').glob('0[3-8]_*.ipynb'))
SKIP_FLAGS = re.compile(r'^#\|\s*(notest|slow|weights|gpu)\b', re.M)
FACTORY = re.compile(r'explor|widget', re.I)              # how explorer functions are named in this project
LAB_SECONDS, RUN_SECONDS, CONTROL_SECONDS = 120, 600, 90   # generous but bounded: 05 took 249 s to its figure with the 2 cores shared by ~6 jobs

# ---------------------------------------------------------------------------------------------------------------------
# Which cells an explorer cell needs (static, by names)

def _python(src:str)->str:
    "A cell's source as plain Python (IPython magics and `!` lines translated)."
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(src)

def _names(src:str)->tuple:
    "(names the cell defines or mutates at top level, names it needs from earlier cells — also inside its functions)."
    code = _python(src)
    try: top, tree = symtable.symtable(code, 'cell', 'exec'), ast.parse(code)
    except SyntaxError: return set(), set()
    defined, used, mutated, augmented = set(), set(), set(), set()
    for s in top.get_symbols():
        if s.is_assigned() or s.is_imported() or s.is_namespace(): defined.add(s.get_name())
        if s.is_referenced(): used.add(s.get_name())
    def inner(t):                                          # globals referenced inside functions and classes
        for ch in t.get_children():
            used.update(s.get_name() for s in ch.get_symbols() if s.is_referenced() and s.is_global() and not s.is_local())
            inner(ch)
    inner(top)
    for node in ast.walk(tree):                            # `x[k] = …`, `x.a = …`, `x += …` need an earlier x and change it
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for t0 in targets:
            t = t0
            while isinstance(t, (ast.Subscript, ast.Attribute)): t = t.value
            if isinstance(t, ast.Name) and t is not t0: mutated.add(t.id)
            elif isinstance(t, ast.Name) and isinstance(node, ast.AugAssign): augmented.add(t.id)
        if isinstance(node, ast.FunctionDef) and node.args.args and any(   # fastcore's @patch adds a method to `self`'s class
                (d.id if isinstance(d, ast.Name) else getattr(d, 'attr', '')) in ('patch', 'patch_to') for d in node.decorator_list):
            ann = node.args.args[0].annotation
            mutated.update(n.id for n in ast.walk(ann) if isinstance(n, ast.Name)) if ann is not None else None
    return defined | mutated, ((used | mutated) - defined) | augmented

def _imports(src:str)->bool:
    try: return any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.parse(_python(src)).body)
    except SyntaxError: return False

def _code(cell)->str|None: return ''.join(cell['source']) if cell['cell_type'] == 'code' else None

def explorer_cells(nb:dict)->list:
    "[(cell index, explorer function name)]: code cells whose last statement is a call of an explorer defined in the notebook."
    srcs = [_code(c) for c in nb['cells']]
    factories = set()
    for s in filter(None, srcs):
        try: factories |= {n.name for n in ast.parse(_python(s)).body if isinstance(n, ast.FunctionDef) and FACTORY.search(n.name)}
        except SyntaxError: pass
    found = {}
    for i, s in enumerate(srcs):
        try: body = ast.parse(_python(s)).body if s else []
        except SyntaxError: continue
        last = body[-1] if body else None
        if (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and isinstance(last.value.func, ast.Name)
                and last.value.func.id in factories):
            name, hidden = last.value.func.id, bool(re.search(r'^#\|\s*hide\b', s, re.M))
            if name not in found or (found[name][1] and not hidden): found[name] = (i, hidden)   # prefer a visible cell
    return sorted((i, n) for n, (i, _) in found.items())

def needed_cells(nb:dict, target:int)->list:
    "Indices of the cells `target` needs, in order: earlier import cells, and the latest earlier definition of each name it needs."
    srcs = [_code(c) for c in nb['cells']]
    need, keep = _names(srcs[target])[1], {target}
    for i in range(target - 1, -1, -1):
        s = srcs[i]
        if s is None or SKIP_FLAGS.search(s): continue
        d, u = _names(s)
        if _imports(s) or d & need: keep.add(i); need = (need - d) | u
    return sorted(keep)

def working_copy(nb:dict, target:int)->dict:
    "A notebook of the needed cells only, without outputs, for the python3 kernel."
    cells = []
    for i in needed_cells(nb, target):                     # an error in a cell the explorer needs does not stop Run All
        c = dict(nb['cells'][i]); c.update(outputs=[], execution_count=None, metadata={} if i == target else {'tags': ['raises-exception']})
        cells.append(c)
    return dict(cells=cells, nbformat=4, nbformat_minor=5, metadata=dict(
        kernelspec=dict(name='python3', display_name='Python 3 (ipykernel)', language='python'), language_info=dict(name='python')))

NB = {p: json.loads(p.read_text(encoding='utf-8')) for p in METHOD_NBS}   # read once: cell indices stay valid
EXPLORERS = [(nb, i, name) for nb in METHOD_NBS for i, name in explorer_cells(NB[nb])]

def test_explorers_found():
    "The discovery above finds the explorers the method notebooks have today (so the browser test below cannot pass empty)."
    names = {n for _, _, n in EXPLORERS}
    assert {'head_explorer', 'neuron_explorer', 'explainr_explorer'} <= names, EXPLORERS

def test_needed_cells_known_answer():
    "The dependency walk on a made-up notebook: it keeps imports and the latest definitions, drops tests, flagged cells and unused work."
    src = ["#| export\nimport math", "a = 1", "b = 2", "a = 3", "assert a == 3", "#| slow\nif opted_in('slow', 'x'): c = 0",
           "def f(x): return x + a\nc = f(1)", "class K: pass", "@patch\ndef m(self:K): return 1", "@patch\ndef u(self:int): return 1", "d = {}\nd['k'] = c", "d['j'] = b", "def my_explorer(v): return v", "k = K()\nmy_explorer(d)"]
    nb = dict(cells=[dict(cell_type='code', source=s, metadata={}, outputs=[]) for s in src])
    assert explorer_cells(nb) == [(13, 'my_explorer')]
    assert needed_cells(nb, 13) == [0, 2, 3, 6, 7, 8, 10, 11, 12, 13]

# ---------------------------------------------------------------------------------------------------------------------
# JupyterLab and Chromium

def _chromium()->str|None:
    for c in (os.environ.get('CLIP_EXPLAIN_CHROMIUM'), 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'):
        if c and shutil.which(c): return shutil.which(c)
    return None

def _free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _descendants(pid:int)->set:
    "Process ids below `pid` (from /proc), to stop kernels a failed shutdown would leave behind."
    kids = {}
    for p in Path('/proc').glob('[0-9]*'):
        try: ppid = int((p/'stat').read_text().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError): continue
        kids.setdefault(ppid, []).append(int(p.name))
    out, todo = set(), [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            if k not in out: out.add(k); todo.append(k)
    return out

class Lab:
    "A JupyterLab server on 127.0.0.1 serving `root`, with a token; `stop()` shuts it and its kernels down."
    def __init__(self, root:Path, state:Path):
        self.port, self.token, self.root = _free_port(), secrets.token_hex(16), root
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ('MPLBACKEND', 'JPY_SESSION_NAME')}   # the kernel draws inline
        env.update(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                   **{k: str(state/v) for k, v in dict(JUPYTER_CONFIG_DIR='config', JUPYTER_DATA_DIR='data',
                                                       JUPYTER_RUNTIME_DIR='runtime', IPYTHONDIR='ipython').items()})
        self.log = open(state/'lab.log', 'w')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={self.port}',
             '--ServerApp.port_retries=0', f'--ServerApp.root_dir={root}', f'--IdentityProvider.token={self.token}',
             '--ServerApp.password=', '--LabApp.expose_app_in_browser=True', '--LabApp.news_url=',
             '--LabApp.extension_manager=readonly'],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.kids = set()
        t0 = time.time()
        while True:
            if self.proc.poll() is not None: raise RuntimeError(f"jupyter lab exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                if self.api('status'): break
            except OSError: pass
            if time.time() - t0 > LAB_SECONDS: self.stop(); raise RuntimeError(f"jupyter lab not up in {LAB_SECONDS} s:\n{self.tail()}")
            time.sleep(0.5)

    def api(self, path:str, method:str='GET'):
        req = urllib.request.Request(f"{self.url}/api/{path}", method=method, headers={'Authorization': f'token {self.token}'})
        with urllib.request.urlopen(req, timeout=20) as r: body = r.read()
        return json.loads(body) if body else {}

    def tail(self, n:int=3000)->str:
        self.log.flush(); return Path(self.log.name).read_text(errors='replace')[-n:]

    def shutdown_kernels(self):
        for s in self.api('sessions'): self.api(f"sessions/{s['id']}", 'DELETE')

    def stop(self):
        if self.proc.poll() is None:
            self.kids |= _descendants(self.proc.pid)
            try: self.api('shutdown', 'POST')
            except OSError: pass
            try: self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try: self.proc.wait(10)
                except subprocess.TimeoutExpired: os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait(10)
        for pid in self.kids:                                # kernels run in sessions of their own
            try: os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError): pass
        self.log.close()

@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    try: from playwright.sync_api import sync_playwright
    except ImportError: pytest.skip("Playwright is not installed (pip install playwright; its browser download is not needed)")
    chrome = _chromium()
    if not chrome: pytest.skip("no Chromium binary found (apt-get install -y chromium, or set CLIP_EXPLAIN_CHROMIUM)")
    work, state = tmp_path_factory.mktemp('lab_nbs'), tmp_path_factory.mktemp('lab_state')
    for nb, i, name in EXPLORERS:
        (work/f"{nb.stem}__{name}.ipynb").write_text(json.dumps(working_copy(NB[nb], i), indent=1))
    server = Lab(work, state)
    pw = browser = None
    try:
        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=chrome, headless=True, args=[
            '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'])
        yield server, browser
    finally:
        if browser: browser.close()
        if pw: pw.stop()
        server.stop()
        left = [p for p in server.kids if Path(f'/proc/{p}').exists() and 'Z' not in (Path(f'/proc/{p}/stat').read_text().rsplit(')', 1)[1].split()[:1] or ['Z'])]
        assert server.proc.poll() is not None and not left, f"processes left running: server {server.proc.poll()}, {left}"

# JavaScript run in the page: state of the open notebook (errors, last cell executed, kernel idle) and the explorer's figure
STATE_JS = """() => {
  const p = window.jupyterapp.shell.currentWidget, cells = p.content.widgets.filter(w => w.model.type === 'code');
  const errors = [];
  cells.forEach((c, i) => { for (const o of c.model.outputs.toJSON())
    if (o.output_type === 'error') errors.push('[cell ' + i + '] ' + o.ename + ': ' + o.evalue + '\\n' + (o.traceback || []).join('\\n').replace(/\\x1b\\[[0-9;]*m/g, '')); });
  const last = cells[cells.length - 1], k = p.sessionContext.session && p.sessionContext.session.kernel;
  const imgs = [...last.node.querySelectorAll('.widget-output img')].map(i => i.getAttribute('src') || '');
  return {errors, done: last.model.executionCount !== null, idle: !!k && k.status === 'idle', fig: imgs.join('|')};
}"""

def _errors(st:dict, cells:list)->str:
    "The error outputs, named by the notebook's own cell numbers (0-based, as in nbs/)."
    return '\n'.join(re.sub(r'^\[cell (\d+)\]', lambda m: f"[nbs cell {cells[int(m[1])]}]", e) for e in st['errors'])

def _wait(page, ok, seconds:float, what:str, cells:list, must:bool=True, rerun:bool=False, log=lambda: ''):
    "Poll the page until `ok(state)`; fail at once if the explorer cell raised; at the time limit fail (or, unless `must`, return None)."
    t0, stalled, reruns = time.time(), None, 0
    while True:
        st = page.evaluate(STATE_JS)
        if any(e.startswith(f"[cell {len(cells) - 1}]") for e in st['errors']):
            pytest.fail(f"{what}: the working copy (cells {cells}) raised:\n{_errors(st, cells)[-6000:]}")
        if ok(st): return st
        # a Run All the kernel dropped (idle for 60 s with the last cell never run, e.g. after a kernel restart): reissue it once
        stalled = (stalled or time.time()) if (rerun and st['idle'] and not st['done'] and not st['errors']) else None
        if stalled and time.time() - stalled > 60 and reruns < 1:
            warnings.warn(f"{what}: kernel idle for 60 s with the explorer cell not run; Run All reissued\n{log()[-1500:]}")
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')"); reruns += 1; stalled = None
        if time.time() - t0 > seconds and not must: return None
        if time.time() - t0 > seconds: pytest.fail(f"{what}: not within {seconds} s (last state: done={st['done']}, idle={st['idle']}, "
                                                   f"figure={'yes' if st['fig'] else 'no'}, Run All reissued {reruns}×)\n"
                                                   f"{_errors(st, cells)[-6000:]}\nserver log:\n{log()[-3000:]}")
        page.wait_for_timeout(300)

def _controls(page)->list:
    "(description, locator) for each dropdown and slider of the explorer (the last cell's widgets), in page order."
    last = page.locator('.jp-Notebook .jp-CodeCell').last
    out = []
    for w in last.locator('.widget-dropdown, .widget-slider').all():
        label = (w.locator('.widget-label').first.text_content() or '').strip() if w.locator('.widget-label').count() else ''
        if w.locator('select').count(): out.append((f"dropdown {label!r}", w.locator('select').first))
        elif w.locator('.noUi-handle').count(): out.append((f"slider {label!r}", w.locator('.noUi-handle').first))
    return out

def _change(loc):
    "Dropdown: the next option; slider: one arrow-key step (left at the end of the range)."
    if loc.evaluate('e => e.tagName') == 'SELECT':
        n, i = loc.evaluate('e => [e.options.length, e.selectedIndex]')
        if n < 2: return False
        loc.select_option(index=(i + 1) % n); return True
    now, hi, lo = (float(loc.get_attribute(a) or 0) for a in ('aria-valuenow', 'aria-valuemax', 'aria-valuemin'))
    if hi <= lo: return False
    loc.focus(); loc.press('ArrowLeft' if now >= hi else 'ArrowRight'); return True

@pytest.mark.parametrize('nb,cell,name', EXPLORERS, ids=[f"{nb.stem}:{name}" for nb, _, name in EXPLORERS])
def test_explorer_figure_follows_controls(lab, nb, cell, name):
    server, browser = lab
    what, kept = f"{nb.name} cell {cell} ({name})", needed_cells(NB[nb], cell)
    page = browser.new_page(viewport=dict(width=1200, height=900))
    t0 = time.time()
    try:
        page.goto(f"{server.url}/lab/tree/{nb.stem}__{name}.ipynb?token={server.token}", timeout=LAB_SECONDS*1000)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                               "window.jupyterapp.shell.currentWidget.sessionContext", timeout=LAB_SECONDS*1000)
        page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")
        t_end = time.time() + LAB_SECONDS
        while not page.evaluate("() => { const s = window.jupyterapp.shell.currentWidget.sessionContext; "
                                "return !!(s.session && s.session.kernel && s.session.kernel.status === 'idle'); }"):
            dialog = page.locator('.jp-Dialog .jp-mod-accept')
            if dialog.count(): dialog.first.click()            # "Select Kernel", should it ask
            if time.time() > t_end: pytest.fail(f"{what}: no idle kernel within {LAB_SECONDS} s\n{server.tail()}")
            page.wait_for_timeout(300)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        st = _wait(page, lambda s: s['done'] and s['idle'] and s['fig'], RUN_SECONDS, f"{what}: Run All and a figure in the explorer", kept,
                   rerun=True, log=server.tail)
        t_run = time.time() - t0
        if st['errors']:                                    # the notebook's own checks (tests/test_notebooks.py runs them in order)
            warnings.warn(f"{what}: cells the explorer needs raised, run out of the notebook's order:\n{_errors(st, kept)[:1500]}")
        controls = _controls(page)
        assert controls, f"{what}: the explorer shows no dropdown or slider"
        static = []
        for label, loc in controls:
            before = st['fig']
            if not _change(loc): continue
            new = _wait(page, lambda s: s['idle'] and s['fig'] and s['fig'] != before, CONTROL_SECONDS, f"{what}: {label}", kept, must=False)
            if new is None: static.append(label); new = page.evaluate(STATE_JS)
            print(f"{what}: {label} → figure {'unchanged' if label in static else 'changed'}")
            st = new
        print(f"{what}: Run All + first figure {t_run:.0f} s, {len(controls)} controls {time.time() - t0 - t_run:.0f} s")
        assert not static, f"{what}: the figure did not change when these controls changed: {static}"
    finally:
        page.close()
        try: server.shutdown_kernels()
        except OSError: pass

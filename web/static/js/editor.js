/*
 * The browser editor's page: loads the file into bpmn-js's or dmn-js's Modeler (from
 * vendor/editor/editor.js), asks the server to check every change as a deployment would,
 * shows each problem on its element and in a list, and deploys only a file without problems
 * (bpmnlint's errors included).
 */
(function () {
  'use strict';

  var root = document.getElementById('editor');
  if (!root) {
    return;
  }
  var kind = root.getAttribute('data-kind');
  var canvasNode = document.getElementById('editor-canvas');
  var problemsList = document.getElementById('editor-problems');
  var noProblems = document.getElementById('editor-no-problems');
  var deployButton = document.getElementById('editor-deploy');
  var state = document.getElementById('editor-state');
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');

  if (!window.BridgeflowEditor) {
    state.textContent = 'The editor is not installed on this server (npm ci; make vendor).';
    return;
  }
  var modeler = kind === 'dmn'
    ? window.BridgeflowEditor.dmn(canvasNode)
    : window.BridgeflowEditor.bpmn(canvasNode, '#editor-properties');
  window.bridgeflowModeler = modeler;  // for people debugging a diagram in the console

  var serverProblems = [];
  var lintIssues = [];
  var checking = null;
  var timer = null;
  var generation = 0;

  function say(text) {
    state.textContent = text;
  }

  function post(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) {
        return {status: response.status, data: data};
      });
    });
  }

  function body(xml) {
    return {
      kind: root.getAttribute('data-definition-kind'),
      xml: xml,
      base_key: root.getAttribute('data-base-key') || null
    };
  }

  function xmlNow() {
    return modeler.saveXML({format: true}).then(function (result) { return result.xml; });
  }

  function lintErrors() {
    return lintIssues.filter(function (issue) { return issue.category === 'error'; });
  }

  // -- showing problems --------------------------------------------------------------------

  function clearMarks() {
    if (kind === 'bpmn') {
      var canvas = modeler.get('canvas');
      modeler.get('overlays').remove({type: 'bf-problem'});
      modeler.get('elementRegistry').forEach(function (element) {
        canvas.removeMarker(element.id, 'bf-problem');
      });
    } else {
      canvasNode.querySelectorAll('.bf-problem-row, .bf-problem-cell').forEach(function (node) {
        node.classList.remove('bf-problem-row', 'bf-problem-cell');
      });
    }
  }

  function markBpmn(problem) {
    var registry = modeler.get('elementRegistry');
    if (!problem.element_id || !registry.get(problem.element_id)) {
      return;
    }
    modeler.get('canvas').addMarker(problem.element_id, 'bf-problem');
    var badge = document.createElement('div');
    badge.className = 'bf-problem-badge';
    badge.textContent = '!';
    badge.title = problem.message;
    modeler.get('overlays').add(problem.element_id, 'bf-problem', {
      position: {top: -9, right: 9}, html: badge
    });
  }

  function markDmn(problem) {
    // a cell's problem names its rule and column: "… rule 3, input 'Amount' (column 1): …"
    var rule = /\brule (\d+)\b/.exec(problem.message);
    if (!rule) {
      return;
    }
    var rows = canvasNode.querySelectorAll('.tjs-table tbody tr');
    var row = rows[parseInt(rule[1], 10) - 1];
    if (!row) {
      return;
    }
    row.classList.add('bf-problem-row');
    var column = /\(column (\d+)\)/.exec(problem.message);
    var cells = row.querySelectorAll('td.input-cell');
    if (column && cells[parseInt(column[1], 10) - 1]) {
      cells[parseInt(column[1], 10) - 1].classList.add('bf-problem-cell');
    }
  }

  function item(text, where, className, elementId) {
    var li = document.createElement('li');
    li.className = className;
    if (where) {
      var span = document.createElement('span');
      span.className = 'where';
      span.textContent = where;
      li.appendChild(span);
    }
    li.appendChild(document.createTextNode(text));
    if (elementId && kind === 'bpmn') {
      li.tabIndex = 0;
      li.addEventListener('click', function () { select(elementId); });
    }
    return li;
  }

  function select(elementId) {
    var element = modeler.get('elementRegistry').get(elementId);
    if (element) {
      modeler.get('selection').select(element);
      modeler.get('canvas').scrollToElement(element);
    }
  }

  function show() {
    clearMarks();
    problemsList.textContent = '';
    serverProblems.forEach(function (problem) {
      problemsList.appendChild(item(problem.message, problem.element_id || problem.file,
                                    'problem', problem.element_id));
      (kind === 'bpmn' ? markBpmn : markDmn)(problem);
    });
    lintIssues.forEach(function (issue) {
      problemsList.appendChild(item(issue.message + ' (bpmnlint: ' + issue.rule + ')',
                                    issue.id, issue.category === 'error' ? 'lint-error'
                                      : 'lint-warning', issue.id));
    });
    var blocking = serverProblems.length + lintErrors().length;
    noProblems.hidden = blocking > 0 || lintIssues.length > 0;
    deployButton.disabled = blocking > 0 || checking !== null;
    if (checking === null) {
      say(blocking ? blocking + ' problem' + (blocking === 1 ? '' : 's')
        + ': fix ' + (blocking === 1 ? 'it' : 'them') + ' to deploy' : 'Checked: ready to deploy');
    }
  }

  // -- checking ------------------------------------------------------------------------------

  function check() {
    var mine = ++generation;
    checking = mine;
    deployButton.disabled = true;
    say('Checking…');
    return xmlNow().then(function (xml) {
      return post(root.getAttribute('data-check-url'), body(xml));
    }).then(function (answer) {
      if (mine !== generation) {
        return;  // a newer change is being checked
      }
      checking = null;
      if (answer.status !== 200) {
        serverProblems = [{message: answer.data.message || 'the check failed', file: ''}];
      } else {
        serverProblems = answer.data.problems;
      }
      show();
    }).catch(function (error) {
      if (mine === generation) {
        checking = null;
        serverProblems = [{message: 'The file could not be checked: ' + error.message, file: ''}];
        show();
      }
    });
  }

  function changed() {
    clearTimeout(timer);
    deployButton.disabled = true;
    say('Changed: checking soon…');
    timer = setTimeout(check, 500);
  }

  function listen() {
    if (kind === 'bpmn') {
      modeler.on('commandStack.changed', changed);
      modeler.on('linting.completed', function (event) {
        lintIssues = [];
        Object.keys(event.issues || {}).forEach(function (id) {
          event.issues[id].forEach(function (issue) {
            lintIssues.push({id: id, message: issue.message, category: issue.category,
                             rule: issue.rule});
          });
        });
        show();
      });
    } else {
      var attached = null;
      var follow = function () {
        var viewer = modeler.getActiveViewer();
        if (viewer && viewer !== attached) {
          attached = viewer;
          viewer.on('commandStack.changed', changed);
          viewer.on('elements.changed', function () { setTimeout(show, 0); });
        }
      };
      modeler.on('views.changed', follow);
      follow();
    }
  }

  // -- deploying -----------------------------------------------------------------------------

  deployButton.addEventListener('click', function () {
    deployButton.disabled = true;
    say('Deploying…');
    xmlNow().then(function (xml) {
      var request = body(xml);
      request.comment = document.getElementById('editor-comment').value;
      return post(root.getAttribute('data-deploy-url'), request);
    }).then(function (answer) {
      if (answer.status === 201) {
        window.location.assign(answer.data.location);
        return;
      }
      serverProblems = answer.data.problems || [{message: answer.data.message, file: ''}];
      show();
    }).catch(function (error) {
      say('Not deployed: ' + error.message);
      deployButton.disabled = false;
    });
  });

  fetch(root.getAttribute('data-source-url'), {credentials: 'same-origin'})
    .then(function (response) {
      if (!response.ok) {
        throw new Error('the file could not be loaded (' + response.status + ')');
      }
      return response.text();
    })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      if (kind === 'dmn') {
        var table = modeler.getViews().filter(function (v) { return v.type === 'decisionTable'; })[0];
        if (table) {
          return modeler.open(table);
        }
      }
      return null;
    })
    .then(function () {
      listen();
      if (kind === 'bpmn') {
        modeler.get('canvas').zoom('fit-viewport');
        modeler.get('linting').toggle(true);
      }
      root.setAttribute('data-ready', 'true');
      return check();
    })
    .catch(function (error) {
      say('The editor could not open the file: ' + error.message);
    });
}());

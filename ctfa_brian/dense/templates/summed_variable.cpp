{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{# ctfa_brian dense device: Brian2's summed_variable template, plus one loop without index
   arrays for an all-to-all projection whose synapse k is i * n_post + j; with ``fused``, the
   loop also updates w (block 'fused': the sum from the old w, then the update) and block
   'drive' is the sum alone, for steps while the plasticity gate is 0 #}

{% block maincode %}
    {% set _target_var_array = get_array_name(_target_var) %}
    {% set _index_array = get_array_name(_index_var) %}
    {% set _target = '_j' if _index_array.endswith('__synaptic_post') else '_i' %}
    {% macro summed_loops(scalar, vector) %}
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar|autoindent}}
    {% if dense %}
    const int _n_pre = {{dense[0]}}, _n_post = {{dense[1]}}, _n_blocks = {{dense[2]}};
    if ({{N}} == _n_blocks * _n_pre * _n_post)
    {
        // dense: synapse k = i * n_post + j of each diagonal block, no index arrays
        for(int _i=0; _i<_n_blocks * _n_pre; _i++)
        {
            const int _j0 = (_i / _n_pre) * _n_post;  // the block's first postsynaptic index
            for(int _j=_j0; _j<_j0 + _n_post; _j++)
            {
                const size_t _idx = (size_t)_i * _n_post + (_j - _j0);
                const size_t _vectorisation_idx = _idx;
                {{dense_code(vector)|autoindent}}
                {{_target_var_array}}[{{_target}} + {{_target_start}}] += _synaptic_var;
            }
        }
    }
    else
    {% endif %}
    for(int _idx=0; _idx<{{N}}; _idx++)
    {
        // vector code
        const size_t _vectorisation_idx = _idx;
        {{vector|autoindent}}
        {{_target_var_array}}[{{_index_array}}[_idx]] += _synaptic_var;
    }
    {% endmacro %}
    //// MAIN CODE ////////////
    const int _target_size = {{constant_or_scalar(_target_size_name, variables[_target_size_name])}};

    // Set all the target variable values to zero
    {{ openmp_pragma('parallel-static') }}
    for (int _target_idx=0; _target_idx<_target_size; _target_idx++)
    {
        {{_target_var_array}}[_target_idx + {{_target_start}}] = 0;
    }

    {% if fused %}
    bool _frozen = false;
    {% if gate and defines(scalar_code['fused'], gate) %}
    {
        // the plasticity gate is exactly 0: dw/dt = -{{gate}}*(...) leaves every weight as it is
        const size_t _vectorisation_idx = -1;
        {{scalar_code['fused']|autoindent}}
        _frozen = ({{gate}} == 0.0);
    }
    {% endif %}
    if (_frozen)
    {
        {{summed_loops(scalar_code['drive'], vector_code['drive'])}}
    }
    else
    {
        // the summed drive and w's update in one pass
        {{summed_loops(scalar_code['fused'], vector_code['fused'])}}
    }
    {% else %}
    {{summed_loops(scalar_code, vector_code)}}
    {% endif %}
{% endblock %}
